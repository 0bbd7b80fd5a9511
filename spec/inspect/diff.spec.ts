// diff: two bundles after an entry change (jq alone, then jq and env) list the entry, the files
// it brought with sizes and reasons, and what changed; pure diffManifests as a unit as well.
import * as path from 'node:path';

import { diffManifests } from '../../lib/inspect/diff';
import { readManifest } from '../../lib/inspect/manifest-files';
import { createBundle, runCli } from '../helpers/cli';
import { tempDir } from '../helpers/tmp';

const dir = tempDir('sb-diff-');
let a: string;
let b: string;

beforeAll(() => {
  a = createBundle(['--name', 'tools', '--from-host', '/usr/bin/jq', '--out-dir', path.join(dir, 'a')]).dir;
  b = createBundle(['--name', 'tools', '--from-host', '/usr/bin/jq', '--from-host', '/usr/bin/env', '--out-dir', path.join(dir, 'b')]).dir;
});

test('the same bundle twice: same, exit 0 (and 0 with --exit-code)', () => {
  const r = runCli(['diff', a, path.join(a, 'manifest.lock'), '--exit-code']);
  expect(r.stdout).toMatch(/^same: /);
  expect(r.status).toBe(0);
});

test('an added entry: its files added with size and reason, as text', () => {
  const r = runCli(['diff', a, b]);
  expect(r.status).toBe(0);
  expect(r.stdout).toMatch(/^\+ entry env$/m);
  expect(r.stdout).toMatch(/^\+ payload\/usr\/bin\/env \(\d+ bytes\): the program of entry env$/m);
  expect(r.stdout).toMatch(/^\+ bin\/env: symlink$/m);
  expect(r.stdout).toMatch(/^\+ runtime\/entries\/env\.json \(\d+ bytes\): launcher or runtime$/m);
  expect(r.stdout).not.toMatch(/data\//);
  expect(r.stdout).toMatch(/\d+ added, 0 removed, \d+ changed; \d+ → \d+ bytes$/m);
});

test('--json, and the other way round: removed; --exit-code exits 1', () => {
  const r = runCli(['diff', b, a, '--json', '--exit-code']);
  const { diff } = JSON.parse(r.stdout);
  expect(diff.entries).toEqual({ added: [], removed: ['env'] });
  expect(diff.removed).toContainEqual({ path: 'payload/usr/bin/env', kind: 'file', size: expect.any(Number), reasons: ['the program of entry env'] });
  expect(diff.added).toEqual([]);
  expect(diff.bytes.before).toBeGreaterThan(diff.bytes.after);
  expect(r.status).toBe(1);
});

test('diffManifests: a changed file names content, size and mode', () => {
  const m = readManifest(a).manifest;
  const edited = JSON.parse(JSON.stringify(m)) as typeof m;
  const jq = edited.files.find((f) => f.path === 'payload/usr/bin/jq')!;
  jq.sha256 = 'f'.repeat(64);
  jq.size += 10;
  jq.mode = '0755';
  const d = diffManifests(m, edited);
  expect(d.changed).toEqual([expect.objectContaining({ path: 'payload/usr/bin/jq', changes: [`content and size (${jq.size - 10} → ${jq.size} bytes)`, 'mode (0555 → 0755)'] })]);
  expect(d.added).toEqual([]);
  expect(d.removed).toEqual([]);
});
