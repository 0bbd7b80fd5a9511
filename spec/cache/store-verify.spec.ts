// The content store is checked before it is linked into a bundle: a store file edited in place
// (its mtime put back with utimes) or a forged digest memo never yields a bundle whose bytes
// differ from its manifest.lock; the damaged store entry is dropped and copied again.
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync, statSync, utimesSync, writeFileSync, writeSync } from 'node:fs';
import * as path from 'node:path';

import { statKey, type MemoEntry } from '../../lib/cache/digest-memo';
import { encodeTable } from '../../lib/cache/memo-table';
import { runCli } from '../helpers/cli';
import { tempDir } from '../helpers/tmp';
import { leftovers, manifestFiles, mismatches } from '../package/manifest-check';

const dir = tempDir('sb-store-verify-');
const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

function create(name: string, out: string, cacheDir: string) {
  const result = runCli(['create', '--name', name, '--from-host', '/usr/bin/jq', '--out-dir', out, '--cache-dir', cacheDir, '--run-mode', 'host', '--json']);
  expect([result.status, result.stderr]).toEqual([0, '']);
  return JSON.parse(result.stdout).bundle as { dir: string; validation: { ok: boolean } };
}

/** Overwrite the start of `file` in place (same size) and put its times back. */
function editInPlace(file: string): void {
  const before = statSync(file, { bigint: true });
  const fd = openSync(file, 'r+');
  writeSync(fd, Buffer.from('EDITED IN PLACE'), 0, 15, 0);
  closeSync(fd);
  utimesSync(file, statSync(file).atime, new Date(Number(before.mtimeNs / 1_000_000n)));
  const after = statSync(file, { bigint: true });
  // Precondition: only the bytes and the ctime tell the edit apart.
  expect([after.ino, after.size, after.mtimeNs]).toEqual([before.ino, before.size, before.mtimeNs]);
  expect(after.ctimeNs).not.toBe(before.ctimeNs);
}

function jqContent(bundleDir: string): string {
  return manifestFiles(bundleDir).find((f) => f.path === 'payload/usr/bin/jq')!.sha256;
}

test.each(['same name', 'another name'])('a store file edited in place with its mtime restored is dropped and copied again (rebundle under %s)', (how) => {
  const out = path.join(dir, how.replace(' ', '-'));
  const cacheDir = path.join(out, 'cache');
  const first = create('one', out, cacheDir);
  const sha = jqContent(first.dir);
  const stored = path.join(cacheDir, 'cas', sha);
  expect(statSync(stored).ino).toBe(statSync(path.join(first.dir, 'payload/usr/bin/jq')).ino); // precondition: shared
  editInPlace(stored);

  const second = create(how === 'same name' ? 'one' : 'two', out, cacheDir);
  expect(mismatches(second.dir)).toEqual([]);
  expect(second.validation.ok).toBe(true);
  expect(sha256(stored)).toBe(sha); // the damaged entry was replaced by a verified copy
  expect(leftovers(out)).toEqual([]);
});

test.each([
  ['forged without the memo key', (entries: MemoEntry[]) => encodeTable(entries, randomBytes(32))],
  ['with a made-up MAC', (entries: MemoEntry[]) => Buffer.concat([Buffer.alloc(32), encodeTable(entries, randomBytes(32)).subarray(32)])],
])('a poisoned memo.bin (%s) vouching for an edited store file is not believed', (_how, forge) => {
  const out = path.join(dir, `poison-${_how.split(' ')[0]}`);
  const cacheDir = path.join(out, 'cache');
  const first = create('one', out, cacheDir);
  const sha = jqContent(first.dir);
  const stored = path.join(cacheDir, 'cas', sha);
  editInPlace(stored);
  // The forger knows the edited file's exact state (a stat) and claims it holds the old digest.
  const key = statKey(statSync(stored, { bigint: true }));
  writeFileSync(path.join(cacheDir, 'memo.bin'), forge([{ key, digest: { sha256: sha, size: statSync(stored).size } }]));

  const second = create('two', out, cacheDir);
  expect(mismatches(second.dir)).toEqual([]);
  expect(sha256(stored)).toBe(sha);
  expect(leftovers(out)).toEqual([]);
});

test('an untouched store is still linked without copying (the memo of linked files holds)', () => {
  const out = path.join(dir, 'untouched');
  const cacheDir = path.join(out, 'cache');
  const first = create('one', out, cacheDir);
  const second = create('two', out, cacheDir);
  for (const f of manifestFiles(second.dir)) {
    expect(statSync(path.join(second.dir, f.path)).ino).toBe(statSync(path.join(first.dir, f.path)).ino);
  }
  expect(mismatches(second.dir)).toEqual([]);
});
