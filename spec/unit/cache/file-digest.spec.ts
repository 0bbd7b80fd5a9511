// Copies that skip reading (copyKnown): only for a file this memo hashed well after its last
// change, and only while it stays in that state; otherwise the caller hashes while copying
// (copyHashed), whose digest is that of the bytes it wrote. Temporary files only, no root.
import { createHash } from 'node:crypto';
import { appendFileSync, copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { copyHashed, copyKnown, DigestMemo, SETTLED_MS } from '../../../lib/cache/file-digest';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'sb-file-digest-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const sha = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');
/** A memo whose clock runs `ahead` ms ahead: what it hashes now looks hashed that long after the change. */
const memoHashingLater = (ahead: number) => new DigestMemo(() => Date.now() + ahead);

function source(text = 'the bytes of a program\n'.repeat(1000)): string {
  const file = path.join(dir, 'source');
  writeFileSync(file, text, { mode: 0o755 });
  return file;
}

describe('DigestMemo.settled', () => {
  test('vouches for a file hashed long enough after its change, in the state it was hashed in', async () => {
    const file = source();
    const memo = memoHashingLater(SETTLED_MS + 1000);
    const digest = await memo.digest(file);
    expect(memo.settled(statSync(file, { bigint: true }))).toEqual(digest);
  });

  test('does not vouch for a file hashed just after its change (a write in the same tick leaves the ctime)', async () => {
    const file = source();
    const memo = new DigestMemo();
    await memo.digest(file);
    expect(memo.knownStats(statSync(file, { bigint: true }))).toBeDefined();
    expect(memo.settled(statSync(file, { bigint: true }))).toBeUndefined();
  });

  test('does not vouch for what it did not hash itself (entries loaded from disk or remembered)', () => {
    const file = source();
    const memo = memoHashingLater(SETTLED_MS + 1000);
    memo.remember(file, { sha256: sha(readFileSync(file)), size: statSync(file).size });
    expect(memo.settled(statSync(file, { bigint: true }))).toBeUndefined();
  });
});

describe('copyKnown', () => {
  test('copies a settled file in the kernel: the returned digest is the sha256 of the bytes written', async () => {
    const file = source();
    const memo = memoHashingLater(SETTLED_MS + 1000);
    await memo.digest(file);
    const target = path.join(dir, 'copy');
    const copied = await copyKnown(file, target, memo);
    expect(copied).toEqual({ sha256: sha(readFileSync(target)), size: statSync(target).size });
    expect(copied!.sha256).toBe(sha(readFileSync(file)));
  });

  test('declines (and creates nothing) for a file not settled', async () => {
    const file = source();
    const memo = new DigestMemo();
    await memo.digest(file);
    expect(await copyKnown(file, path.join(dir, 'copy'), memo)).toBeUndefined();
    expect(existsSync(path.join(dir, 'copy'))).toBe(false);
  });

  test('declines for a file changed since it was hashed', async () => {
    const file = source();
    const memo = memoHashingLater(SETTLED_MS + 1000);
    await memo.digest(file);
    appendFileSync(file, 'changed');
    expect(await copyKnown(file, path.join(dir, 'copy'), memo)).toBeUndefined();
    expect(existsSync(path.join(dir, 'copy'))).toBe(false);
  });

  test('a file changing during the copy is not vouched for: the copy is removed', async () => {
    const file = source();
    const memo = memoHashingLater(SETTLED_MS + 1000);
    const before = await memo.digest(file);
    const target = path.join(dir, 'copy');
    const changingMidCopy = async (from: string, to: string) => {
      copyFileSync(from, to);
      writeFileSync(from, 'other bytes of the same length'.padEnd(statSync(from).size, '.'));
    };
    expect(await copyKnown(file, target, memo, changingMidCopy)).toBeUndefined();
    expect(existsSync(target)).toBe(false);
    // What the caller does next: hash while copying, which sees the new bytes, not the memo's.
    const hashed = await copyHashed(file, target, 0o644);
    expect(hashed.sha256).not.toBe(before.sha256);
    expect(hashed.sha256).toBe(sha(readFileSync(target)));
  });

  test('leaves an existing target alone and declines (the hashed copy then reports it)', async () => {
    const file = source();
    const memo = memoHashingLater(SETTLED_MS + 1000);
    await memo.digest(file);
    const target = path.join(dir, 'copy');
    writeFileSync(target, 'not ours');
    expect(await copyKnown(file, target, memo)).toBeUndefined();
    expect(readFileSync(target, 'utf8')).toBe('not ours');
  });
});

describe('copyHashed', () => {
  test('a file of several chunks and an empty file: the digest and size of the copy, created with the mode asked for', async () => {
    for (const size of [0, 3 * 1024 * 1024 + 5]) {
      const file = path.join(dir, `in-${size}`);
      const bytes = Buffer.alloc(size, 7);
      writeFileSync(file, bytes);
      const target = path.join(dir, `out-${size}`);
      expect(await copyHashed(file, target, 0o640)).toEqual({ sha256: sha(bytes), size });
      expect(statSync(target).mode & 0o777).toBe(0o640 & ~process.umask());
    }
  });
});
