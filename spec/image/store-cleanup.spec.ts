// The image store's cleanup of temporary entries: a run's entries go once its process is gone,
// never while it runs, also when the run is another user's process (kill(pid, 0) then says
// EPERM: the process exists) or another pid namespace's, as in a store shared through
// SIDEBUNDLE_IMAGE_CACHE.
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, readdirSync } from 'node:fs';
import * as path from 'node:path';

import { ImageStore } from '../../lib/image/store';
import { repoRoot } from '../helpers/cli';
import { tempDir } from '../helpers/tmp';

const dir = tempDir('sb-store-cleanup-');

test('entries of a run still there are kept, of one gone are removed', () => {
  const store = new ImageStore(path.join(dir, 'own'));
  const tmp = path.join(dir, 'own', 'tmp');
  const gone = spawnSync('/bin/true').pid!; // exited and reaped
  mkdirSync(path.join(tmp, `layer-${process.pid}-0a1b2c`));
  mkdirSync(path.join(tmp, `layer-${gone}-0a1b2c`));
  store.cleanup();
  expect(readdirSync(tmp)).toEqual([`layer-${process.pid}-0a1b2c`]);
});

test("entries are named by their run's pid, start time and pid namespace: another container's run is kept, a pid taken since by a later process is not", () => {
  const store = new ImageStore(path.join(dir, 'named'));
  const tmp = path.join(dir, 'named', 'tmp');
  const own = path.basename(store.tmpPath('blob'));
  mkdirSync(path.join(tmp, own));
  const [, pid, start, namespace] = /-(\d+)-(\d+)-(\d+)-[0-9a-f]+$/.exec(own)!;
  expect(Number(pid)).toBe(process.pid);
  const gone = spawnSync('/bin/true').pid!;
  mkdirSync(path.join(tmp, `blob-${gone}-${start}-${Number(namespace) + 1}-0a0a`)); // another pid namespace: its pid means nothing here
  mkdirSync(path.join(tmp, `blob-${process.pid}-${Number(start) - 1}-${namespace}-0b0b`)); // this pid, but a process started earlier: gone
  mkdirSync(path.join(tmp, `blob-${gone}-x-x-0c0c`)); // start time and namespace unknown: a pid check
  store.cleanup();
  expect(readdirSync(tmp).sort()).toEqual([`blob-${gone}-${start}-${Number(namespace) + 1}-0a0a`, own].sort());
});

const asRoot = process.getuid?.() === 0;
(asRoot ? test : test.skip)("a cleanup by another user keeps the entries of this run, which it may not signal", () => {
  const shared = path.join(dir, 'shared');
  new ImageStore(shared); // eslint-disable-line no-new -- makes the store's directories
  const tmp = path.join(shared, 'tmp');
  mkdirSync(path.join(tmp, `blob-${process.pid}-d00d`)); // this (root's) run
  mkdirSync(path.join(tmp, `blob-${spawnSync('/bin/true').pid!}-d00d`)); // a run gone
  chmodSync(dir, 0o755);
  for (const sub of ['', 'tmp', 'blobs', 'blobs/sha256', 'snapshots']) chownSync(path.join(shared, sub), 65534, 65534);
  const cleanup = spawnSync(process.execPath, ['-e', `new (require(${JSON.stringify(path.join(repoRoot, 'dist/lib/image/store'))}).ImageStore)(${JSON.stringify(shared)}).cleanup()`], {
    uid: 65534,
    gid: 65534,
    encoding: 'utf8',
  });
  expect(cleanup.stderr).toBe('');
  expect(cleanup.status).toBe(0);
  expect(readdirSync(tmp)).toEqual([`blob-${process.pid}-d00d`]);
});
