// `sidebundle digest`: what Nx's runtime inputs print (nothing of the workspace or above it; for
// --traced, what the files sidebundle.lock lists hold now).
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

import { fingerprint, tracedFingerprint } from '../../../lib/cli/digest';
import { formatLock, lockOf } from '../../../lib/config/lockfile';
import { tempDir } from '../../helpers/tmp';

function project(entries: unknown[]): { ws: string; config: string } {
  const ws = path.join(tempDir('sb-digest-'), 'deep', 'workspace');
  mkdirSync(path.join(ws, 'apps/a'), { recursive: true });
  const config = path.join(ws, 'apps/a/sidebundle.json');
  writeFileSync(config, JSON.stringify({ name: 'a', entries, cacheDir: '.cache' }));
  return { ws, config };
}

test('prints the libraries outside the workspace, nothing inside it and no directory above it', async () => {
  const { ws, config } = project(['/usr/bin/jq', { host: './tool.sh' }]);
  writeFileSync(path.join(ws, 'apps/a/tool.sh'), '#!/bin/sh\necho hi\n', { mode: 0o755 });
  const lines = await fingerprint(config, ws);
  expect(lines.join('\n')).toMatch(/^file \/\S*libjq\.so\.1\S* [0-9a-f]{64}$/m);
  const paths = lines.filter((l) => /^(file|link|absent|dir|listing|other) /.test(l)).map((l) => l.split(' ')[1]!);
  expect(paths.length).toBeGreaterThan(3);
  expect(paths.filter((p) => p === ws || p.startsWith(`${ws}/`) || ws.startsWith(`${p}/`))).toEqual([]);
});

test('--traced prints what the listed files hold now, not what the lock recorded', async () => {
  const { ws, config } = project(['/usr/bin/jq']);
  expect(await tracedFingerprint(config, ws)).toContain('lock absent');
  const outside = path.join(tempDir('sb-digest-outside-'), 'plugin.so');
  writeFileSync(outside, 'v1');
  writeFileSync(path.join(ws, 'apps/a/sidebundle.lock'), formatLock(lockOf([{ path: outside, kind: 'file', sha256: 'recorded-long-ago' }])));
  const before = await tracedFingerprint(config, ws);
  expect(before.join('\n')).toMatch(new RegExp(`^file ${outside} [0-9a-f]{64}$`, 'm'));
  expect(before.join('\n')).not.toContain('recorded-long-ago');
  writeFileSync(outside, 'v2 (another size)');
  expect(await tracedFingerprint(config, ws)).not.toEqual(before);
});
