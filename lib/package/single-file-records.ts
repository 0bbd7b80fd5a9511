// The record stream of a single-file bundle (format 3), produced in fixed-size slices so the
// caller can compress each slice on its own while the next is read: no file is held whole.
// The records are specified in docs/bundle-format.md; native/src/single/records.rs reads them.
import { closeSync, lstatSync, openSync, readdirSync, readlinkSync, readSync } from 'node:fs';
import * as path from 'node:path';

/** Uncompressed bytes per slice: small enough that a few in flight stay far below the memory
 * bound, large enough that the per-slice cost (a zlib stream, a thread-pool hop) vanishes. */
export const SLICE_BYTES = 1 << 20;

export interface RecordStats {
  /** Bytes of the bundle's files (hard links counted once). */
  bytes: number;
}

const NS = 1_000_000_000n;

function header(kind: string, mode: number, mtimeNs: bigint, relPath: string): Buffer {
  const name = Buffer.from(relPath);
  const b = Buffer.alloc(1 + 4 + 8 + 4 + 4 + name.length);
  b.write(kind, 0, 'latin1');
  b.writeUInt32LE(mode, 1);
  // Floor division: a time before 1970 keeps a non-negative nanosecond part.
  const seconds = mtimeNs >= 0n ? mtimeNs / NS : -((-mtimeNs + NS - 1n) / NS);
  b.writeBigInt64LE(seconds, 5);
  b.writeUInt32LE(Number(mtimeNs - seconds * NS), 13);
  b.writeUInt32LE(name.length, 17);
  name.copy(b, 21);
  return b;
}

function lengthPrefixed(s: string): Buffer {
  const bytes = Buffer.from(s);
  const b = Buffer.alloc(4 + bytes.length);
  b.writeUInt32LE(bytes.length);
  bytes.copy(b, 4);
  return b;
}

function u64(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
}

/** Fills slices of `size` bytes and hands each one over when full (the last one when closed). */
class Slicer {
  private slice: Buffer;
  private used = 0;
  readonly full: Buffer[] = [];
  constructor(private readonly size: number, private readonly alloc: (size: number) => Buffer) {
    this.slice = alloc(size);
  }
  put(bytes: Buffer): void {
    for (let at = 0; at < bytes.length; ) {
      const n = bytes.copy(this.slice, this.used, at);
      at += n;
      this.advance(n);
    }
  }
  /** Reads `size` bytes of `fd` straight into the slices; false if the file ended early. */
  putFile(fd: number, size: number): boolean {
    for (let left = size; left > 0; ) {
      const n = readSync(fd, this.slice, this.used, Math.min(left, this.size - this.used), null);
      if (n === 0) return false;
      left -= n;
      this.advance(n);
    }
    return true;
  }
  close(): void {
    if (this.used > 0) this.full.push(this.slice.subarray(0, this.used));
    this.used = 0;
  }
  private advance(n: number): void {
    this.used += n;
    if (this.used === this.size) {
      this.full.push(this.slice);
      this.slice = this.alloc(this.size);
      this.used = 0;
    }
  }
}

/** The bundle's record stream in slices of `sliceBytes` (the last one shorter); `stats` is
 * complete once the generator is done. A file that changes size while read is an error.
 * `alloc` lets the consumer hand back slices it is done with (memory stays flat). */
export function* recordSlices(bundleDir: string, stats: RecordStats, sliceBytes = SLICE_BYTES, alloc: (size: number) => Buffer = (size) => Buffer.allocUnsafe(size)): Generator<Buffer> {
  const out = new Slicer(sliceBytes, alloc);
  const seen = new Map<string, string>();
  // Depth first in sorted order: a directory's entries follow its record.
  const walk = function* (rel: string): Generator<Buffer> {
    for (const name of readdirSync(path.join(bundleDir, rel)).sort()) {
      const relPath = rel ? `${rel}/${name}` : name;
      const full = path.join(bundleDir, relPath);
      const st = lstatSync(full, { bigint: true });
      const mode = Number(st.mode & 0o7777n);
      if (st.isDirectory()) {
        out.put(header('d', mode, st.mtimeNs, relPath));
        yield* out.full.splice(0);
        yield* walk(relPath);
      } else if (st.isSymbolicLink()) {
        out.put(Buffer.concat([header('l', 0o777, st.mtimeNs, relPath), lengthPrefixed(readlinkSync(full))]));
      } else if (st.isFile()) {
        const inode = `${st.dev}:${st.ino}`;
        const first = seen.get(inode);
        if (first !== undefined) {
          out.put(Buffer.concat([header('h', mode, st.mtimeNs, relPath), lengthPrefixed(first)]));
          continue;
        }
        seen.set(inode, relPath);
        const size = Number(st.size);
        out.put(Buffer.concat([header('f', mode, st.mtimeNs, relPath), u64(size)]));
        const fd = openSync(full, 'r');
        try {
          // Read in slice-sized steps so full slices leave before the next read.
          for (let left = size; left > 0; ) {
            const step = Math.min(left, sliceBytes);
            if (!out.putFile(fd, step)) throw new Error(`${full} shrank while the single file was written`);
            left -= step;
            yield* out.full.splice(0);
          }
        } finally {
          closeSync(fd);
        }
        stats.bytes += size;
      }
      yield* out.full.splice(0);
    }
  };
  yield* walk('');
  out.close();
  yield* out.full.splice(0);
}
