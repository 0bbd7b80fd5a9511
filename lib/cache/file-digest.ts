// sha256 of files, memoized by (dev, ino, size, mtime_ns, ctime_ns): an unchanged file is never
// read twice. The memo is a plain map that a caller may load from and save to disk (the step
// cache does). Copies either hash what they write (one read) or, for a file this process hashed
// and that has not changed since, leave the bytes to the kernel (no read at all).
import { createHash } from 'node:crypto';
import { constants, statSync, type BigIntStats } from 'node:fs';
import { copyFile, open, rm, type FileHandle } from 'node:fs/promises';

export interface FileDigest {
  sha256: string;
  size: number;
}

/**
 * Memo key of a file's current state; changes when the file is modified or replaced. The ctime
 * is part of it because no one can set it: an edit in place whose mtime was put back (utimes)
 * still changes the key. The price: a new hard link or chmod changes it too, so whoever links a
 * verified file (the content store) remembers it again afterwards.
 */
export function statKey(stats: BigIntStats): string {
  return `${stats.dev}:${stats.ino}:${stats.size}:${stats.mtimeNs}:${stats.ctimeNs}`;
}

/**
 * How long after a file's last change (its ctime) a hash of it must start for the memo to vouch
 * for an unread copy. Where timestamps are coarse (a kernel tick, or seconds on some file
 * systems), a write in the same tick as the change before it leaves the ctime as it was; a file
 * hashed well after its ctime cannot have been written since without its ctime moving.
 */
export const SETTLED_MS = 2000;

export class DigestMemo {
  /** Bumped on every change, so a saver knows whether there is anything to save. */
  changes = 0;
  /** When this process began hashing each state it hashed (ms since the epoch); not saved, so
   * only a hash made here, whose timing is known, lets a copy skip reading the file. */
  private readonly hashedAt = new Map<string, number>();

  /** `clock`: the time now (ms since the epoch), for the hash times `settled` compares. */
  constructor(readonly entries: Map<string, FileDigest> = new Map(), private readonly clock: () => number = Date.now) {}

  /** The digest of `hostPath` if the file is unchanged since it was hashed (a stat, no read). */
  known(hostPath: string): FileDigest | undefined {
    try {
      return this.knownStats(statSync(hostPath, { bigint: true }));
    } catch {
      return undefined;
    }
  }

  /** The digest of a file in the state `stats` describes, if it was hashed in that state. */
  knownStats(stats: BigIntStats): FileDigest | undefined {
    return this.used(statKey(stats));
  }

  /** The entry of `key`, moved to the end: the map's order is least recently used first, which
   * is what a saver that keeps the last N entries needs. */
  private used(key: string): FileDigest | undefined {
    const known = this.entries.get(key);
    if (known) {
      this.entries.delete(key);
      this.entries.set(key, known);
    }
    return known;
  }

  /** Record a digest known by other means (a content-store file named by its verified digest). */
  remember(hostPath: string, digest: FileDigest): void {
    this.entries.set(statKey(statSync(hostPath, { bigint: true })), digest);
    this.changes += 1;
  }

  /** Drop what is known about `hostPath` in its current state (it proved wrong). */
  forget(hostPath: string): void {
    try {
      if (this.entries.delete(statKey(statSync(hostPath, { bigint: true })))) this.changes += 1;
    } catch {
      // gone: nothing to forget
    }
  }

  /** Digest of the file at `hostPath` (following symlinks). */
  async digest(hostPath: string): Promise<FileDigest> {
    const key = statKey(statSync(hostPath, { bigint: true }));
    const known = this.used(key);
    if (known) return known;
    const started = this.clock();
    const computed = await sha256File(hostPath);
    this.entries.set(key, computed);
    this.hashedAt.set(key, started);
    this.changes += 1;
    return computed;
  }

  /**
   * The digest of a file in the state `stats` describes, only if this process hashed it in that
   * state at least SETTLED_MS after its last change: then no write since can have left `stats`
   * as they are, and a copy made while they stay so holds these bytes without being read.
   */
  settled(stats: BigIntStats): FileDigest | undefined {
    const key = statKey(stats);
    const at = this.hashedAt.get(key);
    if (at === undefined || at - Number(stats.ctimeNs / 1_000_000n) < SETTLED_MS) return undefined;
    return this.entries.get(key);
  }
}

const CHUNK = 1024 * 1024;

/**
 * Stream a file through sha256 in 1 MiB reads into one reused buffer: never the whole file in
 * memory, and no garbage per chunk (a read stream's fresh buffers cost more in GC than hashing).
 */
export async function sha256File(hostPath: string): Promise<FileDigest> {
  const handle = await open(hostPath, 'r');
  try {
    return await hashStream(handle);
  } finally {
    await handle.close();
  }
}

/** A write to the destination of `copyHashed` failed (not the read of its source). */
export class CopyWriteError extends Error {
  constructor(readonly target: string, override readonly cause: unknown) {
    super(`cannot write ${target}: ${(cause as Error).message}`);
  }
}

/**
 * Copy `source` to the new file `target` (created with `mode`), hashing the bytes as they are
 * written: the digest is that of the copy itself, whatever a memo said about the source. Read
 * errors are thrown as they are; write errors as CopyWriteError (the destination's fault).
 */
export async function copyHashed(source: string, target: string, mode: number): Promise<FileDigest> {
  const input = await open(source, 'r');
  try {
    let output: FileHandle;
    try {
      output = await open(target, 'wx', mode);
    } catch (error) {
      throw new CopyWriteError(target, error);
    }
    try {
      return await hashStream(input, async (chunk) => {
        try {
          for (let done = 0; done < chunk.length; ) done += (await output.write(chunk, done)).bytesWritten;
        } catch (error) {
          throw new CopyWriteError(target, error);
        }
      });
    } finally {
      await output.close();
    }
  } finally {
    await input.close();
  }
}

/**
 * Copy `source` to the new file `target` in the kernel (a reflink where the file system offers
 * one, else copy_file_range: no byte passes through this process) when `memo` vouches for its
 * state (DigestMemo.settled) and that state holds from before the copy to after it. Returns the
 * digest, or undefined (the target not created) when the memo cannot vouch, the source changed
 * during the copy or the kernel copy failed: the caller then hashes while copying, which reports
 * each failure as what it is. The target gets the source's mode, for the caller to set.
 */
export async function copyKnown(source: string, target: string, memo: DigestMemo, copy: KernelCopy = kernelCopy): Promise<FileDigest | undefined> {
  const before = statSync(source, { bigint: true });
  const known = memo.settled(before);
  if (known === undefined) return undefined;
  try {
    await copy(source, target);
  } catch (error) {
    // The target was not ours when it already existed; otherwise drop what was half-written.
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') await rm(target, { force: true });
    return undefined;
  }
  const after = statSync(source, { bigint: true });
  if (statKey(after) !== statKey(before) || statSync(target).size !== known.size) {
    await rm(target, { force: true });
    return undefined;
  }
  return known;
}

/** Copy a file to a new path without reading it here (tests swap it to change the source mid-copy). */
export type KernelCopy = (source: string, target: string) => Promise<void>;

const kernelCopy: KernelCopy = (source, target) => copyFile(source, target, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE);

async function hashStream(handle: FileHandle, onChunk?: (chunk: Buffer) => Promise<void>): Promise<FileDigest> {
  const hash = createHash('sha256');
  const buffer = Buffer.allocUnsafe(CHUNK);
  let size = 0;
  for (;;) {
    const { bytesRead } = await handle.read(buffer, 0, CHUNK, null);
    if (bytesRead === 0) break;
    const chunk = buffer.subarray(0, bytesRead);
    hash.update(chunk);
    if (onChunk) await onChunk(chunk);
    size += bytesRead;
  }
  return { sha256: hash.digest('hex'), size };
}

/** One read at most: the kernel copies a file `memo` vouches for (copyKnown), anything else is
 * hashed while it is copied (copyHashed, whose errors the callers report). */
export async function copyOnce(source: string, target: string, mode: number, memo?: DigestMemo): Promise<FileDigest> {
  return (memo && (await copyKnown(source, target, memo))) ?? copyHashed(source, target, mode);
}
