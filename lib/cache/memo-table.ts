// The digest memo on disk: one binary table, <cache>/memo.bin, of fixed-size records sorted by
// inode, searched in place (a binary search per file looked up: nothing is parsed, no object
// made for what a run does not use). The JSON memo it replaces cost every run ~40 ms of CPU to
// read and as much to write, and ~25 MiB of peak memory; a memo in one small file per shard cost
// a rename per changed shard, 0.5-2 ms each on a busy ext4, so 45 of them outweighed the reads.
//
// Layout: HMAC-SHA256 (32 bytes, under the cache's memo.key) of everything after it; the magic
// (8 bytes); the use counter (u64); then RECORD-byte records: dev, ino, size (u64), mtime_ns,
// ctime_ns (i64), sha256 (32 bytes), last use (u64, the counter when a run last used it). A table
// whose MAC fails (forged, damaged, torn) is not believed: every file is hashed again, once.
// A save merges what a run learned into the table as it is on disk at that moment and renames
// a new file over it: two runs at once never leave a damaged table, at worst one loses an entry
// the other wrote in between.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { closeSync, fstatSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

import { inodeOf, type MemoBacking, type MemoEntry } from './digest-memo';

/** The memo holds at most this many states (one per inode); the least recently used go first. */
export const MAX_MEMO_ENTRIES = 20_000;
const MAGIC = Buffer.from('sbmemo1\n');
const HEAD = 48;
const RECORD = 80;

interface Parsed {
  records: Buffer;
  uses: bigint;
  /** The file read (dev:ino:ctime; a save renames a new file over it), to tell whether it changed since. */
  identity?: string;
}

export class MemoTable implements MemoBacking {
  private table: Parsed | undefined;

  /** `tmp`: a directory on the same file system as `file`, for the writes to rename. */
  constructor(readonly file: string, private readonly tmp: string, private readonly key: Buffer, private readonly max = MAX_MEMO_ENTRIES) {}

  find(inode: string): { entry: MemoEntry; aging: boolean } | undefined {
    const table = (this.table ??= this.read());
    const probe = Buffer.allocUnsafe(16);
    const colon = inode.indexOf(':');
    writeDecimal(probe, 0, inode, 0, colon);
    writeDecimal(probe, 8, inode, colon + 1, inode.length);
    const { index, found } = search(table.records, probe, 0, 0);
    if (!found) return undefined;
    const at = index * RECORD;
    // Used long enough ago (half a table's worth of uses) that it may be evicted: worth a save.
    return { entry: decode(table.records, at), aging: table.records.readBigUInt64LE(at + 72) + BigInt(Math.ceil(this.max / 2)) < table.uses };
  }

  /** How many states the table on disk holds now (0 when it is absent or not believed). */
  count(): number {
    return this.read().records.length / RECORD;
  }

  save(recent: MemoEntry[], forgotten: string[]): void {
    // The table as it is now: the one read before unless another run has replaced it since.
    const disk = this.table?.identity !== undefined && this.table.identity === identityOf(this.file) ? this.table : this.read();
    let uses = disk.uses;
    // Every change encoded once into one buffer (no BigInt, no object per record: a save of a
    // 2,000-file bundle's states cost ~50 ms of it); the last change of an inode wins.
    const last = new Map<string, number>(); // inode -> its last change: -1-i forgotten[i], i recent[i]
    forgotten.forEach((key, i) => last.set(inodeOf(key), -1 - i));
    recent.forEach((entry, i) => last.set(inodeOf(entry.key), i));
    const fresh = Buffer.alloc((forgotten.length + recent.length) * RECORD);
    const drops: number[] = [];
    let n = 0;
    forgotten.forEach((key, i) => {
      if (last.get(inodeOf(key)) !== -1 - i) return;
      encodeInto(fresh, n * RECORD, key, undefined, 0n);
      drops.push(n++);
    });
    const dropped = new Set(drops);
    for (const entry of recent) encodeInto(fresh, n++ * RECORD, entry.key, entry.digest.sha256, (uses += 1n));
    const order = Array.from({ length: n }, (_, i) => i * RECORD).sort((a, b) => compareAt(fresh, a, fresh, b));
    const out = Buffer.allocUnsafe(HEAD + disk.records.length + fresh.length);
    let at = HEAD;
    let from = 0;
    for (const mine of order) {
      const { index, found } = search(disk.records, fresh, mine, from);
      at += disk.records.copy(out, at, from * RECORD, index * RECORD);
      from = found ? index + 1 : index;
      const theirs = found ? index * RECORD : -1;
      if (dropped.has(mine / RECORD)) {
        // Dropped only in the state found wrong (dev, ino, size, mtime, ctime: the first 40 bytes).
        if (theirs >= 0 && disk.records.compare(fresh, mine, mine + 40, theirs, theirs + 40) !== 0) at += disk.records.copy(out, at, theirs, theirs + RECORD);
      } else if (theirs >= 0 && disk.records.readBigInt64LE(theirs + 32) > fresh.readBigInt64LE(mine + 32)) {
        at += disk.records.copy(out, at, theirs, theirs + RECORD); // the later state of an inode is its current one (its ctime only grows)
      } else {
        at += fresh.copy(out, at, mine, mine + RECORD);
      }
    }
    at += disk.records.copy(out, at, from * RECORD);
    let bytes: Buffer = out.subarray(0, at);
    if ((at - HEAD) / RECORD > this.max) bytes = tableBytes(trim(bytes.subarray(HEAD), this.max), uses, this.key);
    else seal(bytes, uses, this.key);
    this.table = { records: bytes.subarray(HEAD), uses, identity: this.write(bytes) };
  }

  private read(): Parsed {
    let bytes: Buffer;
    let identity: string | undefined;
    try {
      const fd = openSync(this.file, 'r');
      try {
        identity = identityOf(fd);
        bytes = readFileSync(fd);
      } finally {
        closeSync(fd);
      }
    } catch {
      return { records: Buffer.alloc(0), uses: 0n };
    }
    const valid = bytes.length >= HEAD && (bytes.length - HEAD) % RECORD === 0 && bytes.subarray(32, 40).equals(MAGIC) && timingSafeEqual(bytes.subarray(0, 32), mac(this.key, bytes.subarray(32)));
    return valid ? { records: bytes.subarray(HEAD), uses: bytes.readBigUInt64LE(40), identity } : { records: Buffer.alloc(0), uses: 0n };
  }

  /** Write the table (sealed) to a new file renamed over the old one; returns the new file's identity. */
  private write(bytes: Buffer): string | undefined {
    const temporary = path.join(this.tmp, `memo.bin.${process.pid}.${randomBytes(4).toString('hex')}`);
    try {
      const fd = openSync(temporary, 'wx', 0o644);
      try {
        writeFileSync(fd, bytes);
        renameSync(temporary, this.file);
        return identityOf(fd); // after the rename, which moves the ctime
      } finally {
        closeSync(fd);
      }
    } catch (error) {
      rmSync(temporary, { force: true });
      throw error;
    }
  }
}

/** A table file of `entries` under `key` (for tests that forge or damage one). */
export function encodeTable(entries: MemoEntry[], key: Buffer): Buffer {
  const sorted = entries.map((e) => ({ ...idOf(e.key), record: encode(e, 1n) })).sort((a, b) => compare(a.dev, a.ino, b.dev, b.ino));
  return tableBytes(Buffer.concat(sorted.map((s) => s.record)), 1n, key);
}

function tableBytes(records: Buffer, uses: bigint, key: Buffer): Buffer {
  const bytes = Buffer.allocUnsafe(HEAD + records.length);
  records.copy(bytes, HEAD);
  return seal(bytes, uses, key);
}

/** Fill in a table's head (MAC, magic, use counter) before its records. */
function seal(bytes: Buffer, uses: bigint, key: Buffer): Buffer {
  MAGIC.copy(bytes, 32);
  bytes.writeBigUInt64LE(uses, 40);
  mac(key, bytes.subarray(32)).copy(bytes, 0);
  return bytes;
}

/** The table's MAC: HMAC-SHA256 under the cache's key of everything after the MAC itself. */
function mac(key: Buffer, body: Buffer): Buffer {
  return createHmac('sha256', key).update(body).digest();
}

/** At most `max` records: when over, the most recently used 90% of `max` (so trimming, a sort of
 * the whole table, comes once in a while, not with every new file). */
function trim(records: Buffer, max: number): Buffer {
  const count = records.length / RECORD;
  if (count <= max) return records;
  const keep = Math.max(1, Math.floor(max * 0.9));
  const uses = Array.from({ length: count }, (_, i) => records.readBigUInt64LE(i * RECORD + 72));
  const threshold = [...uses].sort((a, b) => (a > b ? -1 : a < b ? 1 : 0))[keep - 1]!;
  let room = uses.filter((u) => u === threshold).length - (uses.filter((u) => u >= threshold).length - keep);
  const kept = uses.flatMap((u, i) => (u > threshold || (u === threshold && room-- > 0) ? [records.subarray(i * RECORD, (i + 1) * RECORD)] : []));
  return Buffer.concat(kept);
}

/** Which file `file` is now (a rename over it changes the inode; a change in place, the ctime). */
function identityOf(file: string | number): string | undefined {
  try {
    const stats = typeof file === 'number' ? fstatSync(file, { bigint: true }) : statSync(file, { bigint: true });
    return `${stats.dev}:${stats.ino}:${stats.size}:${stats.ctimeNs}`;
  } catch {
    return undefined;
  }
}

function idOf(key: string): { dev: bigint; ino: bigint } {
  const [dev, ino] = key.split(':', 2).map(BigInt) as [bigint, bigint];
  return { dev, ino };
}

function compare(devA: bigint, inoA: bigint, devB: bigint, inoB: bigint): number {
  return devA !== devB ? (devA < devB ? -1 : 1) : inoA === inoB ? 0 : inoA < inoB ? -1 : 1;
}

/** The order of two records by inode (dev, then ino, as unsigned 64-bit numbers), read in 32-bit halves. */
function compareAt(a: Buffer, i: number, b: Buffer, j: number): number {
  return a.readUInt32LE(i + 4) - b.readUInt32LE(j + 4) || a.readUInt32LE(i) - b.readUInt32LE(j) || a.readUInt32LE(i + 12) - b.readUInt32LE(j + 12) || a.readUInt32LE(i + 8) - b.readUInt32LE(j + 8);
}

/** The first record from record `low` on at or after the inode of the record at `at` in
 * `probe`, and whether it is that inode's. */
function search(records: Buffer, probe: Buffer, at: number, low: number): { index: number; found: boolean } {
  let high = records.length / RECORD;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (compareAt(records, mid * RECORD, probe, at) < 0) low = mid + 1;
    else high = mid;
  }
  return { index: low, found: low < records.length / RECORD && compareAt(records, low * RECORD, probe, at) === 0 };
}

/**
 * Write the state `key` (dev:ino:size:mtime_ns:ctime_ns), the digest and the use at `at`: the
 * record layout of encode(), parsed without BigInt.
 */
function encodeInto(records: Buffer, at: number, key: string, sha256: string | undefined, used: bigint): void {
  let field = 0;
  let start = 0;
  for (let i = 0; i <= key.length; i++) {
    if (i < key.length && key.charCodeAt(i) !== 58) continue; // ':'
    writeDecimal(records, at + field * 8, key, start, i);
    field += 1;
    start = i + 1;
  }
  if (sha256 !== undefined) records.write(sha256, at + 40, 32, 'hex');
  records.writeBigUInt64LE(used, at + 72);
}

/** The decimal integer text[start..end) (-2^63 .. 2^64-1) as 64 bits little-endian (two's complement). */
function writeDecimal(out: Buffer, at: number, text: string, start: number, end: number): void {
  const negative = text.charCodeAt(start) === 45; // '-'
  let hi = 0;
  let lo = 0;
  for (let i = negative ? start + 1 : start; i < end; i++) {
    lo = lo * 10 + (text.charCodeAt(i) - 48);
    const carry = Math.floor(lo / 0x1_0000_0000);
    lo -= carry * 0x1_0000_0000;
    hi = (hi * 10 + carry) % 0x1_0000_0000;
  }
  if (negative && (hi !== 0 || lo !== 0)) {
    hi = 0xffff_ffff - hi + (lo === 0 ? 1 : 0);
    lo = lo === 0 ? 0 : 0x1_0000_0000 - lo;
    hi %= 0x1_0000_0000;
  }
  out.writeUInt32LE(lo, at);
  out.writeUInt32LE(hi, at + 4);
}

function encode(entry: MemoEntry, used: bigint): Buffer {
  const [dev, ino, size, mtime, ctime] = entry.key.split(':').map(BigInt) as [bigint, bigint, bigint, bigint, bigint];
  const record = Buffer.alloc(RECORD);
  record.writeBigUInt64LE(dev, 0);
  record.writeBigUInt64LE(ino, 8);
  record.writeBigUInt64LE(size, 16);
  record.writeBigInt64LE(mtime, 24);
  record.writeBigInt64LE(ctime, 32);
  record.write(entry.digest.sha256, 40, 32, 'hex');
  record.writeBigUInt64LE(used, 72);
  return record;
}

function decode(records: Buffer, at: number): MemoEntry {
  const size = records.readBigUInt64LE(at + 16);
  const key = `${records.readBigUInt64LE(at)}:${records.readBigUInt64LE(at + 8)}:${size}:${records.readBigInt64LE(at + 24)}:${records.readBigInt64LE(at + 32)}`;
  return { key, digest: { sha256: records.toString('hex', at + 40, at + 72), size: Number(size) } };
}
