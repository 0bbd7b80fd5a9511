// sha256 of files, memoized by (dev, ino, size, mtime_ns): an unchanged file is never read twice.
// The memo is a plain map that a caller may load from and save to disk (the step cache does).
import { createHash } from 'node:crypto';
import { statSync, type BigIntStats } from 'node:fs';
import { open } from 'node:fs/promises';

export interface FileDigest {
  sha256: string;
  size: number;
}

/** Memo key of a file's current state; changes when the file is modified or replaced. Not the
 * ctime: hard-linking a file (the content store does) changes it without changing a byte. */
export function statKey(stats: BigIntStats): string {
  return `${stats.dev}:${stats.ino}:${stats.size}:${stats.mtimeNs}`;
}

export class DigestMemo {
  constructor(readonly entries: Map<string, FileDigest> = new Map()) {}

  /** The digest of `hostPath` if the file is unchanged since it was hashed (a stat, no read). */
  known(hostPath: string): FileDigest | undefined {
    try {
      return this.entries.get(statKey(statSync(hostPath, { bigint: true })));
    } catch {
      return undefined;
    }
  }

  /** Record a digest known by other means (a content-store file named by its verified digest). */
  remember(hostPath: string, digest: FileDigest): void {
    this.entries.set(statKey(statSync(hostPath, { bigint: true })), digest);
  }

  /** Digest of the file at `hostPath` (following symlinks). */
  async digest(hostPath: string): Promise<FileDigest> {
    const key = statKey(statSync(hostPath, { bigint: true }));
    const known = this.entries.get(key);
    if (known) return known;
    const computed = await sha256File(hostPath);
    this.entries.set(key, computed);
    return computed;
  }
}

const CHUNK = 1024 * 1024;

/**
 * Stream a file through sha256 in 1 MiB reads into one reused buffer: never the whole file in
 * memory, and no garbage per chunk (a read stream's fresh buffers cost more in GC than hashing).
 */
export async function sha256File(hostPath: string): Promise<FileDigest> {
  const hash = createHash('sha256');
  const handle = await open(hostPath, 'r');
  const buffer = Buffer.allocUnsafe(CHUNK);
  let size = 0;
  try {
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, CHUNK, null);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
      size += bytesRead;
    }
  } finally {
    await handle.close();
  }
  return { sha256: hash.digest('hex'), size };
}
