// A bundle and its single file (OUT-DIR/NAME.run) are published together or not at all: a .run
// that cannot be written or put in place leaves the previous bundle (and .run) as they were.
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

import { openStaging, publish } from '../../lib/package/publish';
import { treeDigest } from '../../lib/package/tree-digest';
import { createBundle, runCli } from '../helpers/cli';
import { tempDir } from '../helpers/tmp';
import { leftovers } from './manifest-check';

const dir = tempDir('sb-sfpub-');

test('NAME.run is a directory: exit 2 with OUTPUT_NOT_A_BUNDLE naming it, the previous bundle untouched', () => {
  const out = path.join(dir, 'eisdir');
  const old = createBundle(['--name', 'sf', '--from-host', '/usr/bin/jq', '--out-dir', out, '--run-mode', 'host']);
  const before = treeDigest(old.dir);
  mkdirSync(path.join(out, 'sf.run'));
  writeFileSync(path.join(out, 'sf.run', 'mine'), 'not a bundle');
  const result = runCli(['create', '--name', 'sf', '--from-host', '/usr/bin/jq', '--from-host', '/usr/bin/curl', '--out-dir', out, '--run-mode', 'host', '--emit-single-file', '--json']);
  expect(result.status).toBe(2);
  const { error } = JSON.parse(result.stdout);
  expect(error.code).toBe('OUTPUT_NOT_A_BUNDLE');
  expect(error.input).toBe(path.join(out, 'sf.run'));
  expect(error.message).toContain('is a directory');
  expect(treeDigest(old.dir)).toBe(before);
  expect(readdirSync(path.join(out, 'sf.run'))).toEqual(['mine']);
  expect(leftovers(out)).toEqual([]);
});

test('a bundle and its .run are replaced together', () => {
  const out = path.join(dir, 'together');
  const first = createBundle(['--name', 'sf', '--from-host', '/usr/bin/jq', '--out-dir', out, '--run-mode', 'host', '--emit-single-file']);
  const second = createBundle(['--name', 'sf', '--from-host', '/usr/bin/jq', '--from-host', '/usr/bin/curl', '--out-dir', out, '--run-mode', 'host', '--emit-single-file']);
  expect(second.manifestSha256).not.toBe(first.manifestSha256);
  const { singleFile } = second as unknown as { singleFile: { path: string; digest: string } };
  expect(singleFile.path).toBe(path.join(out, 'sf.run'));
  expect(singleFile.digest).not.toBe((first as unknown as { singleFile: { digest: string } }).singleFile.digest);
  // The .run carries the new bundle: its trailer ends with the digest of the new records.
  expect(readFileSync(path.join(out, 'sf.run')).subarray(-32).toString('hex')).toBe(singleFile.digest);
  expect(statSync(path.join(out, 'sf.run')).mode & 0o111).toBe(0o111);
  expect(leftovers(out)).toEqual([]);
});

test('a failing last rename puts back the previous bundle and .run (publish rolls back)', () => {
  const out = path.join(dir, 'rollback');
  const old = createBundle(['--name', 'rb', '--from-host', '/usr/bin/jq', '--out-dir', out, '--run-mode', 'host', '--emit-single-file']);
  const before = treeDigest(old.dir);
  const oldRun = readFileSync(path.join(out, 'rb.run'));
  const staging = openStaging(out, 'rb', { singleFile: true });
  writeFileSync(path.join(staging.dir, 'manifest.lock'), '{}');
  // The staged .run is missing: the last of the renames fails after the others succeeded.
  expect(existsSync(staging.run!.staged)).toBe(false);
  expect(() => publish(staging)).toThrow(/ENOENT/);
  expect(treeDigest(old.dir)).toBe(before);
  expect(readFileSync(path.join(out, 'rb.run'))).toEqual(oldRun);
  expect(readdirSync(out).filter((n) => n.startsWith('.'))).toEqual([path.basename(staging.dir)]); // the caller discards it
});
