// sha256 of files, memoized by (dev, ino, size, mtime_ns, ctime_ns): an unchanged file is never
// read twice. The memo is a plain map that a caller may load from and save to disk (the step
// cache does).
import { createHash } from 'node:crypto';
import { statSync, type BigIntStats } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';

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

export class DigestMemo {
  /** Bumped on every change, so a saver knows whether there is anything to save. */
  changes = 0;

  constructor(readonly entries: Map<string, FileDigest> = new Map()) {}

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
    return this.entries.get(statKey(stats));
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
    const known = this.entries.get(key);
    if (known) return known;
    const computed = await sha256File(hostPath);
    this.entries.set(key, computed);
    this.changes += 1;
    return computed;
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
