// The image store's cleanup of temporary entries: a run's entries go once its process is gone,
// never while it runs, also when the run is another user's process (kill(pid, 0) then says
// EPERM: the process exists), as in a store shared through SIDEBUNDLE_IMAGE_CACHE.
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
