// Single-file bundles: sidebundle-launch, then the static sidebundle-run, then a published
// bundle, compressed. Run, the launcher starts the entry from the bundle's extraction in this
// user's cache (native/nolibc/src/single.rs); where there is none yet, it execs the runner, which
// extracts the bundle once into a cache keyed by the digest of its contents and starts the entry
// from there in the same process (native/src/single.rs). Without the launcher the file starts
// with the runner, which does both. The format (members, index, trailer) is specified in
// docs/bundle-format.md.
import { createHash } from 'node:crypto';
import { chmodSync, closeSync, copyFileSync, fstatSync, openSync, readFileSync, readSync, renameSync, rmSync, writeSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { runInNewContext } from 'node:vm';

import { recordSlices, SLICE_BYTES } from './single-file-records';

export const MAGIC = Buffer.from('SIDEBUNDLE-SFX-4', 'latin1');
/** What every format's magic starts with: a file of another format is named as such. */
export const MAGIC_FAMILY = MAGIC.subarray(0, 15);
/** The runner's offset (u64), then the magic, the members' and the index's offsets and the digest. */
export const TRAILER = 72;
// zlib and v8 are required on first use: a bundle without a single file (most) never loads them
// (zlib alone is ~7 ms of a command's start-up here).
let deflater: ((data: Buffer, options: import('node:zlib').ZlibOptions) => Promise<Buffer>) | undefined;
const deflate = (data: Buffer, options: import('node:zlib').ZlibOptions) =>
  (deflater ??= promisify((require('node:zlib') as typeof import('node:zlib')).deflateRaw))(data, options);

/** gzip's default level: measured against `tar -czf` (bench/single-file.ts), 9 costs about
 * twice the time for a few percent of size. */
export const DEFAULT_LEVEL = 6;

export interface SingleFileResult {
  path: string;
  /** sha256 of the launcher and runner heading the file, then the uncompressed records: the
   * extraction cache key. */
  digest: string;
  size: number;
  /** Bytes of the bundle's files (hard links counted once). */
  bundleBytes: number;
}

export interface SingleFileOptions {
  /** zlib level, 1–9. */
  level?: number;
  /** Slices being compressed at once (each holds about two slices of memory). */
  concurrency?: number;
  sliceBytes?: number;
  /** sidebundle-launch, to head the file (warm starts without the runner's C library start-up). */
  launcher?: string;
}

/** A full garbage collection, if this V8 lets us ask for one. Every member leaves about a slice
 * of dead zlib output buffers, which V8 counts as external memory and frees only after tens of
 * MiB of it (measured: +60 MiB for 1 GiB of random data); collecting every few slices keeps the
 * writer's peak flat (a collection of this small heap takes a millisecond or two). Plain gc():
 * on Node 20, gc({ type: 'major' }) left the dead buffers in place. */
function collector(): () => void {
  try {
    (require('node:v8') as typeof import('node:v8')).setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    return () => gc();
  } catch {
    return () => undefined;
  }
}

/** The first `length` bytes of `fd`. */
function readHead(fd: number, length: number): Buffer {
  const bytes = Buffer.allocUnsafe(length);
  for (let at = 0; at < length; ) {
    const n = readSync(fd, bytes, at, length - at, at);
    if (n === 0) throw new Error(`the single file being written ends at byte ${at}, before its runner's end (${length})`);
    at += n;
  }
  return bytes;
}

function writeAll(fd: number, bytes: Buffer, position: number): void {
  for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at, bytes.length - at, position + at);
}

/** Compresses the bundle's record slices on libuv's thread pool, at most `concurrency` at a
 * time, and appends the members to `fd` in order from `position`. Slices are reused once
 * compressed, so memory stays flat. Returns the index and where it ends. */
async function writeMembers(fd: number, position: number, bundleDir: string, stats: { bytes: number }, options: Required<Omit<SingleFileOptions, 'launcher'>>, hash: ReturnType<typeof createHash>) {
  const index: number[] = [];
  const inFlight: Array<{ member: Promise<Buffer>; slice: Buffer }> = [];
  const free: Buffer[] = [];
  const alloc = (size: number) => free.pop() ?? Buffer.allocUnsafe(size);
  const zopts = { level: options.level, chunkSize: 256 << 10 };
  const collect = collector();
  const settle = async () => {
    const { member, slice } = inFlight.shift()!;
    const bytes = await member;
    writeAll(fd, bytes, position);
    position += bytes.length;
    index.push(bytes.length, slice.length);
    if (slice.length === options.sliceBytes) free.push(slice);
    const members = index.length / 2;
    if (members % 4 === 0) collect();
  };
  try {
    for (const slice of recordSlices(bundleDir, stats, options.sliceBytes, alloc)) {
      hash.update(slice);
      inFlight.push({ member: deflate(slice, zopts), slice });
      if (inFlight.length >= options.concurrency) await settle();
    }
    while (inFlight.length > 0) await settle();
  } finally {
    // On an error, let the remaining jobs finish unobserved rather than reject unhandled.
    for (const job of inFlight) job.member.catch(() => undefined);
  }
  return { index, end: position };
}

/** Write `target` (atomically: a temporary sibling renamed into place). */
export async function writeSingleFile(bundleDir: string, runner: string, target: string, opts: SingleFileOptions = {}): Promise<SingleFileResult> {
  const options: Required<Omit<SingleFileOptions, 'launcher'>> = {
    level: opts.level ?? DEFAULT_LEVEL,
    concurrency: opts.concurrency ?? Math.max(2, os.availableParallelism()),
    sliceBytes: opts.sliceBytes ?? SLICE_BYTES,
  };
  const tmp = `${path.join(path.dirname(target), `.${path.basename(target)}`)}.tmp-${process.pid}`;
  const hash = createHash('sha256');
  const stats = { bytes: 0 };
  let fd: number | undefined;
  try {
    copyFileSync(opts.launcher ?? runner, tmp);
    fd = openSync(tmp, 'r+');
    const runnerAt = opts.launcher === undefined ? 0 : fstatSync(fd).size;
    if (opts.launcher !== undefined) writeAll(fd, readFileSync(runner), runnerAt);
    const stub = fstatSync(fd).size;
    // The digest covers the launcher and the runner as written (format 4), then the records: a
    // changed byte of the code that runs is as damaged as a changed byte of the bundle.
    hash.update(readHead(fd, stub));
    const { index, end } = await writeMembers(fd, stub, bundleDir, stats, options, hash);
    const table = Buffer.alloc(index.length * 4);
    index.forEach((n, i) => table.writeUInt32LE(n, i * 4));
    writeAll(fd, table, end);
    const digest = hash.digest();
    const trailer = Buffer.alloc(TRAILER);
    trailer.writeBigUInt64LE(BigInt(runnerAt), 0);
    MAGIC.copy(trailer, 8);
    trailer.writeBigUInt64LE(BigInt(stub), 24);
    trailer.writeBigUInt64LE(BigInt(end), 32);
    digest.copy(trailer, 40);
    writeAll(fd, trailer, end + table.length);
    closeSync(fd);
    fd = undefined;
    chmodSync(tmp, 0o755);
    renameSync(tmp, target);
    return { path: target, digest: digest.toString('hex'), size: end + table.length + TRAILER, bundleBytes: stats.bytes };
  } catch (error) {
    if (fd !== undefined) closeSync(fd);
    rmSync(tmp, { force: true });
    throw error;
  }
}
