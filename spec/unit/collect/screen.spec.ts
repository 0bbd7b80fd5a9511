// What a collection family names passes the same screen as a trace's reads: secrets (by path,
// content, and through symlinks in a collected tree) and the policy's places stay out, with a
// warning naming --allow-secret; --allow-secret ships one.
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

import { collect } from '../../../lib/collect';
import { collected, type CollectFamily } from '../../../lib/collect/family';
import type { ResolvedClosure } from '../../../lib/model/closure';
import { tempDir } from '../../helpers/tmp';

const PEM = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----\n';

function root(): string {
  const dir = tempDir('sb-screen-');
  const write = (p: string, text: string) => {
    mkdirSync(path.dirname(path.join(dir, p)), { recursive: true });
    writeFileSync(path.join(dir, p), text);
  };
  write('etc/shadow', 'root:*:19000:0:99999:7:::\n');
  write('root/.ssh/id_ed25519', PEM);
  write('usr/lib/python3/dist-packages/foo/__init__.py', 'x = 1\n');
  write('usr/lib/python3/dist-packages/foo/deploy_key', PEM);
  write('tmp/scratch/notes.txt', 'scratch\n');
  symlinkSync('/root/.ssh/id_ed25519', path.join(dir, 'usr/lib/python3/dist-packages/foo/key-link'));
  return dir;
}

/** A family that names what a hostile RECORD or .packlist could name. */
const hostile: CollectFamily = {
  name: 'hostile',
  detect: () => ({
    additions: ['/etc/shadow', '/usr/lib/python3/dist-packages/foo/__init__.py', '/usr/lib/python3/dist-packages/foo/deploy_key', '/usr/lib/python3/dist-packages/foo/key-link', '/tmp/scratch/notes.txt']
      .map((p) => ({ path: p, reason: collected('hostile', 'distribution foo') })),
    diagnostics: [],
  }),
};

function closureOf(dir: string): ResolvedClosure {
  return { schema: 'sidebundle/closure@1', root: dir, entries: [], files: [], symlinks: [], missing: [], excluded: [], diagnostics: [] };
}

test('collected secrets and temporary files are left out and named', async () => {
  const dir = root();
  const { closure } = await collect([closureOf(dir)], { families: [hostile] });
  const shipped = closure.files.map((f) => f.path);
  expect(shipped).toEqual(['/usr/lib/python3/dist-packages/foo/__init__.py']);
  expect(closure.excluded.map((e) => [e.path, e.impact])).toEqual(expect.arrayContaining([
    ['/etc/shadow', 'secret'],
    ['/usr/lib/python3/dist-packages/foo/deploy_key', 'secret'],
    ['/root/.ssh/id_ed25519', 'secret'],
    ['/tmp/scratch/notes.txt', undefined],
  ]));
  const warnings = closure.diagnostics.filter((d) => d.code === 'COLLECT_SECRET').map((d) => d.message);
  expect(warnings).toEqual(expect.arrayContaining([expect.stringContaining('--allow-secret /usr/lib/python3/dist-packages/foo/deploy_key')]));
});

test('--allow-secret ships the one named', async () => {
  const dir = root();
  const { closure } = await collect([closureOf(dir)], { families: [hostile], allowSecret: ['/usr/lib/python3/dist-packages/foo/deploy_key'] });
  expect(closure.files.map((f) => f.path).sort()).toEqual(['/usr/lib/python3/dist-packages/foo/__init__.py', '/usr/lib/python3/dist-packages/foo/deploy_key']);
});
