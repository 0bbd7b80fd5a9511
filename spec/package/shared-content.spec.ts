// Bundles built with one cache share their files' inodes with its content store and with each
// other. Shared content is read-only: an edit in place fails with EACCES for anyone but root.
// Root ignores modes: its edit reaches every bundle that shares the inode (stated below, so
// docs/api.md's claim is tested), but never the next bundle, which checks the store before reuse.
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { chmodSync, closeSync, openSync, readFileSync, statSync, utimesSync, writeSync } from 'node:fs';
import * as path from 'node:path';

import { createBundle } from '../helpers/cli';
import { tempDir } from '../helpers/tmp';
import { manifestFiles, mismatches } from './manifest-check';

const dir = tempDir('sb-shared-');
chmodSync(dir, 0o755); // the unprivileged user below must reach the bundle
const out = path.join(dir, 'out');
const cacheDir = path.join(dir, 'cache');
const args = (name: string) => ['--name', name, '--from-host', '/usr/bin/jq', '--out-dir', out, '--cache-dir', cacheDir, '--run-mode', 'host'];
const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
const JQ = 'payload/usr/bin/jq';

const a = createBundle(args('a'));
const b = createBundle(args('b'));
const jqSha = manifestFiles(a.dir).find((f) => f.path === JQ)!.sha256;

test('payload and store files are read-only and shared between bundles', () => {
  for (const f of manifestFiles(a.dir)) {
    expect([f.path, statSync(path.join(a.dir, f.path)).mode & 0o222]).toEqual([f.path, 0]);
    expect(statSync(path.join(b.dir, f.path)).ino).toBe(statSync(path.join(a.dir, f.path)).ino);
  }
  expect(statSync(path.join(cacheDir, 'cas', jqSha)).mode & 0o7777).toBe(0o555);
});

const nobody = { uid: 65534, gid: 65534 };
const canRunAsNobody = spawnSync('true', [], nobody).status === 0;
(canRunAsNobody ? test : test.skip)('an unprivileged user cannot edit a bundled file in place (EACCES)', () => {
  const file = path.join(a.dir, JQ);
  const open = (flags: string) => spawnSync(process.execPath, ['-e', `require('fs').openSync(process.argv[1], '${flags}')`, file], { ...nobody, encoding: 'utf8' });
  expect(open('r').status).toBe(0); // precondition: readable, so EACCES below is about writing
  const write = open('r+');
  expect(write.status).not.toBe(0);
  expect(write.stderr).toContain('EACCES');
  expect(sha256(file)).toBe(jqSha);
});

test('root edits in place: bundles sharing the inode see it, the next bundle does not', () => {
  const file = path.join(a.dir, JQ);
  const { mtime } = statSync(file);
  const fd = openSync(file, 'r+'); // root: the mode does not stop it
  writeSync(fd, Buffer.from('ROOT WAS HERE'), 0, 13, 0);
  closeSync(fd);
  utimesSync(file, mtime, mtime);
  // What holds for bundles already built: they share the inode, so they changed too.
  expect(sha256(path.join(b.dir, JQ))).not.toBe(jqSha);
  expect(mismatches(b.dir)).toEqual([expect.stringContaining(`${JQ}: sha256`)]);
  // What holds for the next bundle: the store copy is checked, dropped and copied again.
  const c = createBundle(args('c'));
  expect(mismatches(c.dir)).toEqual([]);
  expect(statSync(path.join(c.dir, JQ)).ino).not.toBe(statSync(file).ino);
  expect(sha256(path.join(cacheDir, 'cas', jqSha))).toBe(jqSha);
});
