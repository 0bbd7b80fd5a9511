// sha256 of files, memoized by (dev, ino, size, mtime_ns): an unchanged file is never read twice.
// The memo is a plain map that a caller may load from and save to disk (the step cache does).
import { createHash } from 'node:crypto';
import { createReadStream, statSync, type BigIntStats } from 'node:fs';

export interface FileDigest {
  sha256: string;
  size: number;
}

/** Memo key of a file's current state; changes when the file is modified or replaced. */
export function statKey(stats: BigIntStats): string {
  return `${stats.dev}:${stats.ino}:${stats.size}:${stats.mtimeNs}:${stats.ctimeNs}`;
}

export class DigestMemo {
  constructor(readonly entries: Map<string, FileDigest> = new Map()) {}

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

/** Stream a file through sha256 (never holding it whole in memory). */
export function sha256File(hostPath: string): Promise<FileDigest> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    let size = 0;
    createReadStream(hostPath, { highWaterMark: 1024 * 1024 })
      .on('data', (chunk) => {
        size += chunk.length;
        hash.update(chunk);
      })
      .on('error', reject)
      .on('end', () => resolve({ sha256: hash.digest('hex'), size }));
  });
}
