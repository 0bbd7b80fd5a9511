// One member of a zip archive (a jar's META-INF/MANIFEST.MF), read through the central directory
// without loading the archive: the end record is found in the file's tail, the directory is read
// once, and the member inflated with a cap on its size. Every offset and length is checked
// against the file, so a truncated or hostile archive is a clear error, never a huge read.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

import { SidebundleError } from '../errors';

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
/** The end record (22 bytes) and the longest comment it may carry. */
const TAIL = 22 + 0xffff;
/** A central directory larger than this is not a jar anyone bundles. */
const MAX_DIRECTORY = 64 * 1024 * 1024;

export interface ZipMember {
  name: string;
  method: number;
  compressedSize: number;
  size: number;
  localOffset: number;
}

/** The member `name` of the zip archive `file` (inflated, at most `limit` bytes), or undefined
 * when the archive has no such member. */
export function readZipMember(file: string, name: string, limit = 1024 * 1024): Buffer | undefined {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    const read = reader(fd, size, file);
    const member = zipDirectory(read, size, file).find((m) => m.name === name);
    return member === undefined ? undefined : memberData(read, member, file, limit);
  } finally {
    closeSync(fd);
  }
}

type Read = (offset: number, length: number) => Buffer;

function reader(fd: number, size: number, file: string): Read {
  return (offset, length) => {
    if (offset < 0 || length < 0 || offset + length > size) throw broken(file, `a record at byte ${offset} runs past the end of the file (${size} bytes)`);
    const buf = Buffer.alloc(length);
    let done = 0;
    while (done < length) {
      const n = readSync(fd, buf, done, length - done, offset + done);
      if (n === 0) throw broken(file, 'the file ended while it was being read');
      done += n;
    }
    return buf;
  };
}

/** The members listed by the archive's central directory. */
export function zipDirectory(read: Read, size: number, file: string): ZipMember[] {
  const tailStart = Math.max(0, size - TAIL);
  const tail = read(tailStart, size - tailStart);
  let at = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tail.readUInt32LE(i) === EOCD) {
      at = i;
      break;
    }
  }
  if (at < 0) throw broken(file, 'it has no end-of-central-directory record (not a zip archive, or truncated)');
  let count = tail.readUInt16LE(at + 10);
  let dirSize = tail.readUInt32LE(at + 12);
  let dirOffset = tail.readUInt32LE(at + 16);
  if ((count === 0xffff || dirSize === 0xffffffff || dirOffset === 0xffffffff) && at >= 20 && tail.readUInt32LE(at - 20) === ZIP64_LOCATOR) {
    const record = read(safe(tail.readBigUInt64LE(at - 12), file), 56);
    if (record.readUInt32LE(0) !== ZIP64_EOCD) throw broken(file, 'its zip64 locator points at no zip64 end record');
    count = safe(record.readBigUInt64LE(32), file);
    dirSize = safe(record.readBigUInt64LE(40), file);
    dirOffset = safe(record.readBigUInt64LE(48), file);
  }
  if (dirSize > MAX_DIRECTORY) throw broken(file, `its central directory claims ${dirSize} bytes (more than ${MAX_DIRECTORY})`);
  const dir = read(dirOffset, dirSize);
  const members: ZipMember[] = [];
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (p + 46 > dir.length || dir.readUInt32LE(p) !== CENTRAL) throw broken(file, `central directory entry ${i + 1} of ${count} is not where the directory says`);
    const nameLength = dir.readUInt16LE(p + 28);
    const extraLength = dir.readUInt16LE(p + 30);
    const next = p + 46 + nameLength + extraLength + dir.readUInt16LE(p + 32);
    if (next > dir.length) throw broken(file, `central directory entry ${i + 1} runs past the directory`);
    const member: ZipMember = {
      name: dir.toString('utf8', p + 46, p + 46 + nameLength),
      method: dir.readUInt16LE(p + 10),
      compressedSize: dir.readUInt32LE(p + 20),
      size: dir.readUInt32LE(p + 24),
      localOffset: dir.readUInt32LE(p + 42),
    };
    zip64Sizes(member, dir.subarray(p + 46 + nameLength, p + 46 + nameLength + extraLength), file);
    members.push(member);
    p = next;
  }
  return members;
}

/** Sizes and offsets that do not fit 32 bits are in the zip64 extra field, in this order. */
function zip64Sizes(member: ZipMember, extra: Buffer, file: string): void {
  for (let p = 0; p + 4 <= extra.length;) {
    const id = extra.readUInt16LE(p);
    const length = extra.readUInt16LE(p + 2);
    if (id === 0x0001) {
      let q = p + 4;
      const next = () => {
        if (q + 8 > p + 4 + length || q + 8 > extra.length) throw broken(file, `the zip64 field of ${member.name} is too short`);
        const v = safe(extra.readBigUInt64LE(q), file);
        q += 8;
        return v;
      };
      if (member.size === 0xffffffff) member.size = next();
      if (member.compressedSize === 0xffffffff) member.compressedSize = next();
      if (member.localOffset === 0xffffffff) member.localOffset = next();
      return;
    }
    p += 4 + length;
  }
}

function memberData(read: Read, member: ZipMember, file: string, limit: number): Buffer {
  if (member.size > limit) throw broken(file, `${member.name} claims ${member.size} bytes (at most ${limit} are read)`);
  const local = read(member.localOffset, 30);
  if (local.readUInt32LE(0) !== LOCAL) throw broken(file, `${member.name} has no local header where the directory says`);
  const start = member.localOffset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
  const data = read(start, member.compressedSize);
  if (member.method === 0) return data;
  if (member.method !== 8) throw broken(file, `${member.name} is compressed with method ${member.method} (only stored and deflate are read)`);
  try {
    // zlib on first use (~7 ms to load): only a JVM payload's jars are read here.
    return (require('node:zlib') as typeof import('node:zlib')).inflateRawSync(data, { maxOutputLength: limit });
  } catch (error) {
    throw broken(file, `${member.name} does not inflate: ${(error as Error).message}`);
  }
}

function safe(value: bigint, file: string): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw broken(file, `it names an offset or size of ${value} bytes`);
  return Number(value);
}

function broken(file: string, why: string): SidebundleError {
  return new SidebundleError('ZIP_UNREADABLE', `${file} cannot be read as a zip archive (a jar): ${why}`, {
    input: file,
    kind: 'input',
    hint: 'rebuild the jar (jar --create, or your build tool), or check that the file is complete',
  });
}
