// `sidebundle verify FILE.run`: a single-file bundle checked against the digest its trailer
// carries (format 3, lib/package/single-file.ts and native/src/single.rs): the trailer's offsets
// must describe members and an index that fit the file, each member must inflate to the length
// the index says, and the inflated record stream must hash to the trailer's sha256. Members are
// inflated one at a time: memory stays at about one slice.
import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { inflateRawSync } from 'node:zlib';

import { SidebundleError } from '../errors';
import { MAGIC, TRAILER } from '../package/single-file';
import type { Finding } from './verify';

export interface SingleFileReport {
  ok: boolean;
  file: string;
  /** The digest the trailer carries (the extraction cache key). */
  digest: string;
  members: number;
  problems: Finding[];
}

function readAt(fd: number, position: number, length: number): Buffer {
  const b = Buffer.alloc(length);
  for (let at = 0; at < length; ) {
    const n = readSync(fd, b, at, length - at, position + at);
    if (n === 0) break;
    at += n;
  }
  return b;
}

export function isSingleFile(file: string): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const { size } = fstatSync(fd);
    return size >= TRAILER && readAt(fd, size - TRAILER + 8, 16).equals(MAGIC);
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export function verifySingleFile(file: string): SingleFileReport {
  const fd = openSync(file, 'r');
  try {
    const { size } = fstatSync(fd);
    const trailer = size >= TRAILER ? readAt(fd, size - TRAILER, TRAILER) : Buffer.alloc(0);
    if (trailer.length < TRAILER || !trailer.subarray(8, 24).equals(MAGIC)) {
      throw new SidebundleError('INSPECT_NOT_A_BUNDLE', `${file} is not a single-file bundle (no ${MAGIC.toString('latin1')} trailer)`, { input: file, kind: 'input', hint: 'give a .run file written by --emit-single-file, or a bundle directory' });
    }
    const runnerAt = Number(trailer.readBigUInt64LE(0));
    const membersAt = Number(trailer.readBigUInt64LE(24));
    const indexAt = Number(trailer.readBigUInt64LE(32));
    const digest = trailer.subarray(40).toString('hex');
    const report: SingleFileReport = { ok: false, file, digest, members: 0, problems: [] };
    const end = size - TRAILER;
    if (!(runnerAt < membersAt && membersAt <= indexAt && indexAt <= end && (end - indexAt) % 8 === 0)) {
      report.problems.push({ path: file, why: `the trailer's offsets (runner at ${runnerAt}, members at ${membersAt}, index at ${indexAt}) do not fit a file of ${size} bytes` });
      return report;
    }
    const index = readAt(fd, indexAt, end - indexAt);
    report.members = index.length / 8;
    const hash = createHash('sha256');
    let at = membersAt;
    for (let i = 0; i < report.members; i++) {
      const compressed = index.readUInt32LE(i * 8);
      const length = index.readUInt32LE(i * 8 + 4);
      if (at + compressed > indexAt) {
        report.problems.push({ path: file, why: `member ${i + 1} of ${report.members} runs past the index` });
        return report;
      }
      let bytes: Buffer;
      try {
        bytes = inflateRawSync(readAt(fd, at, compressed));
      } catch (error) {
        report.problems.push({ path: file, why: `member ${i + 1} of ${report.members} (at byte ${at}) does not inflate: ${(error as Error).message}` });
        return report;
      }
      if (bytes.length !== length) report.problems.push({ path: file, why: `member ${i + 1} of ${report.members} inflates to ${bytes.length} bytes, the index says ${length}` });
      hash.update(bytes);
      at += compressed;
    }
    if (at !== indexAt) report.problems.push({ path: file, why: `${indexAt - at} bytes between the last member and the index` });
    const actual = hash.digest('hex');
    if (actual !== digest) report.problems.push({ path: file, why: `its contents hash to sha256 ${actual}, the trailer says ${digest}` });
    report.ok = report.problems.length === 0;
    return report;
  } finally {
    closeSync(fd);
  }
}
