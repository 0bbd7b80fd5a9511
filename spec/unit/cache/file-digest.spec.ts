// Copies that skip reading (copyKnown): only for a file this memo hashed well after its last
// change, and only while it stays in that state; otherwise the caller hashes while copying
// (copyHashed), whose digest is that of the bytes it wrote. What the memo learned carries over a
// change of link count only (carryOver); the hashes' reused buffers never mix two files' bytes.
// Temporary files only, no root.
import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync, copyFileSync, existsSync, linkSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';

import { copyHashed, copyKnown, DigestMemo, SETTLED_MS, sha256File } from '../../../lib/cache/file-digest';
import { sha256Opened } from '../../../lib/cache/sha256-file';
import { StepCache } from '../../../lib/cache/step-cache';

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

describe('DigestMemo.carryOver', () => {
  /** Wait past the kernel's timestamp tick, so the next change moves the ctime. */
  const tick = () => new Promise((resolve) => setTimeout(resolve, 20));
  /** Another link made and removed: what removing a previous bundle does to a shared inode. */
  const relink = (file: string) => {
    linkSync(file, `${file}.other`);
    unlinkSync(`${file}.other`);
  };
  /** A file whose digest a fresh memo learned, then relinked once the ctime can move. */
  const learnedThenRelinked = async () => {
    const file = source();
    const memo = new DigestMemo();
    const digest = await memo.digest(file);
    await tick();
    relink(file);
    return { file, memo, digest };
  };

  test('carries a digest this process learned over a change of the link count only', async () => {
    const { file, memo, digest } = await learnedThenRelinked();
    expect(memo.known(file)).toBeUndefined(); // precondition: the ctime moved
    expect(memo.carryOver(file, digest.sha256)).toBe(true);
    expect(memo.known(file)).toEqual(digest);
  });

  test('never over an edit (mtime or size changed), nor under another digest', async () => {
    const { file, memo, digest } = await learnedThenRelinked();
    expect(memo.carryOver(file, 'f'.repeat(64))).toBe(false);
    writeFileSync(file, 'the bytes of a program\n'.repeat(1000).replace('a', 'b')); // same size, new mtime
    expect(memo.carryOver(file, digest.sha256)).toBe(false);
    expect(memo.known(file)).toBeUndefined();
  });

  test('never for an entry read from the saved memo (a ctime moved between runs may hide an edit)', async () => {
    const file = source();
    const first = new StepCache(path.join(dir, 'cache'));
    const digest = await first.digests.digest(file);
    first.saveMemo();
    const second = new StepCache(path.join(dir, 'cache'));
    expect(second.digests.known(file)).toEqual(digest); // precondition: the saved entry is found
    await tick();
    relink(file);
    expect(second.digests.carryOver(file, digest.sha256)).toBe(false);
    expect(second.digests.known(file)).toBeUndefined();
  });
});

describe('hashing with reused read buffers', () => {
  test('many files hashed and copied at once each get their own bytes and digest', async () => {
    const MiB = 1024 * 1024;
    const sizes = [0, 1, 4095, MiB - 1, MiB, MiB + 1, 3 * MiB + 17];
    const files = Array.from({ length: 24 }, (_, i) => {
      const file = path.join(dir, `f${i}`);
      writeFileSync(file, randomBytes(sizes[i % sizes.length]!));
      return file;
    });
    // More at once than buffers are kept (8), twice over, hashing and copying mixed.
    for (let round = 0; round < 2; round++) {
      const results = await Promise.all(files.map((file, i) => (i % 2 === 0 ? sha256File(file) : copyHashed(file, `${file}.copy${round}`, 0o644))));
      results.forEach((digest, i) => {
        expect(digest).toEqual({ sha256: sha(readFileSync(files[i]!)), size: statSync(files[i]!).size });
        if (i % 2 === 1) expect(readFileSync(`${files[i]}.copy${round}`).equals(readFileSync(files[i]!))).toBe(true);
      });
    }
  });

  test('a path that is a FIFO is refused, without blocking, by the hash and by a hashing copy (it read as an empty file)', async () => {
    const fifo = path.join(dir, 'fifo');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    await expect(sha256File(fifo)).rejects.toMatchObject({ code: 'EINVAL', message: expect.stringMatching(/is a FIFO, not a regular file/) });
    const memo = new DigestMemo();
    await expect(memo.digest(fifo)).rejects.toMatchObject({ code: 'EINVAL' });
    await expect(copyHashed(fifo, path.join(dir, 'fifo-copy'), 0o644)).rejects.toMatchObject({ code: 'EINVAL' });
    expect(existsSync(path.join(dir, 'fifo-copy'))).toBe(false);
  });

  test('the hash returns the state of the file it opened (the memo keeps the digest under it, not under a path swapped since its stat)', async () => {
    const a = path.join(dir, 'swap-a');
    writeFileSync(a, 'first');
    const { stats } = await sha256Opened(a);
    expect(stats.isFile()).toBe(true);
    expect(stats.ino).toBe(statSync(a, { bigint: true }).ino);
  });
});

describe('StepCache.adopt: a bundle file linked into the content store', () => {
  const bundleFile = (name: string, text: string) => {
    const file = path.join(dir, name);
    writeFileSync(file, text);
    return { file, sha256: sha(text) };
  };

  test('is vouched for (its digest remembered) while in the state this run verified', () => {
    const cache = new StepCache(path.join(dir, 'adopt-cache'));
    const { file, sha256 } = bundleFile('adopt-verified', 'verified bytes\n');
    cache.digests.remember(file, { sha256, size: statSync(file).size });
    cache.adopt([{ path: file, sha256 }]);
    const stored = path.join(dir, 'adopt-cache', 'cas', sha256);
    expect(statSync(stored).ino).toBe(statSync(file).ino);
    expect(cache.digests.known(stored)).toEqual({ sha256, size: statSync(file).size });
  });

  test('is linked but not vouched for once edited in place, even with its mtime put back: hashed when next linked', () => {
    const cache = new StepCache(path.join(dir, 'adopt-edited-cache'));
    const { file, sha256 } = bundleFile('adopt-edited', 'verified bytes\n');
    cache.digests.remember(file, { sha256, size: statSync(file).size });
    const { atime, mtime } = statSync(file);
    writeFileSync(file, 'EDITED!! bytes\n'); // same size
    utimesSync(file, atime, mtime);
    cache.adopt([{ path: file, sha256 }]);
    const stored = path.join(dir, 'adopt-edited-cache', 'cas', sha256);
    expect(readFileSync(stored, 'utf8')).toBe('EDITED!! bytes\n');
    expect(cache.digests.known(stored)).toBeUndefined();
  });
});

test('the memo keeps a digest under the state of the file it read: a path swapped between its stat and the read', async () => {
  const file = path.join(dir, 'swapped');
  writeFileSync(file, 'old bytes\n');
  const replacement = path.join(dir, 'replacement');
  writeFileSync(replacement, 'new bytes!\n');
  const before = statSync(file, { bigint: true });
  // The memo reads its clock between its stat and the hash's open: the swap happens there.
  let swapped = false;
  const memo = new DigestMemo(() => {
    if (!swapped) renameSync(replacement, file);
    swapped = true;
    return Date.now();
  });
  const digest = await memo.digest(file);
  expect(swapped).toBe(true);
  expect(digest).toEqual({ sha256: sha('new bytes!\n'), size: 11 });
  expect(memo.knownStats(before)).toBeUndefined();
  expect(memo.known(file)).toEqual(digest);
});
