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
    const { dev, ino } = idOf(inode);
    const { index, found } = search(table.records, dev, ino);
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
    const changes = new Map<string, { dev: bigint; ino: bigint; record?: Buffer; drop?: string }>();
    for (const key of forgotten) changes.set(inodeOf(key), { ...idOf(key), drop: key });
    for (const entry of recent) changes.set(inodeOf(entry.key), { ...idOf(entry.key), record: encode(entry, (uses += 1n)) });
    const parts: Buffer[] = [];
    let from = 0;
    for (const change of [...changes.values()].sort((a, b) => compare(a.dev, a.ino, b.dev, b.ino))) {
      const { index, found } = search(disk.records, change.dev, change.ino);
      parts.push(disk.records.subarray(from * RECORD, index * RECORD));
      from = found ? index + 1 : index;
      const theirs = found ? disk.records.subarray(index * RECORD, from * RECORD) : undefined;
      if (change.record === undefined) {
        if (theirs && decode(theirs, 0).key !== change.drop) parts.push(theirs); // dropped only in the state found wrong
      } else {
        // The later state of an inode is its current one (its ctime only grows).
        parts.push(theirs && theirs.readBigInt64LE(32) > change.record.readBigInt64LE(32) ? theirs : change.record);
      }
    }
    parts.push(disk.records.subarray(from * RECORD));
    const records = trim(Buffer.concat(parts), this.max);
    this.table = { records, uses, identity: this.write(records, uses) };
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

  /** Write the table to a new file renamed over the old one; returns the new file's identity. */
  private write(records: Buffer, uses: bigint): string | undefined {
    const bytes = tableBytes(records, uses, this.key);
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
  MAGIC.copy(bytes, 32);
  bytes.writeBigUInt64LE(uses, 40);
  records.copy(bytes, HEAD);
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

/** The first record at or after (dev, ino), and whether it is that inode's. */
function search(records: Buffer, dev: bigint, ino: bigint): { index: number; found: boolean } {
  let low = 0;
  let high = records.length / RECORD;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (compare(records.readBigUInt64LE(mid * RECORD), records.readBigUInt64LE(mid * RECORD + 8), dev, ino) < 0) low = mid + 1;
    else high = mid;
  }
  const found = low < records.length / RECORD && compare(records.readBigUInt64LE(low * RECORD), records.readBigUInt64LE(low * RECORD + 8), dev, ino) === 0;
  return { index: low, found };
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
