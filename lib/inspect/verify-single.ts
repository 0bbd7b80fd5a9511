// `sidebundle verify FILE.run`: a single-file bundle checked against the digest its trailer
// carries (format 4, lib/package/single-file.ts and native/src/single.rs): the trailer's offsets
// must describe members and an index that fit the file, each member must inflate to the length
// the index says (16 MiB at most, as the runner reads them), and the launcher and runner heading
// the file, then the inflated record stream, must hash to the trailer's sha256. Members are
// inflated one at a time: memory stays at about one slice.
import { createHash } from 'node:crypto';
import { closeSync, fstatSync, readSync } from 'node:fs';
import { inflateRawSync } from 'node:zlib';

import { SidebundleError } from '../errors';
import { MAGIC, MAGIC_FAMILY, TRAILER } from '../package/single-file';
import { openRegularFile } from '../util/regular-file';
import { RecordCheck } from './single-file-record-check';
import type { Finding } from './verify';

/** The runner refuses a member that inflates to more (native/src/single/stream.rs, MAX_MEMBER). */
const MAX_MEMBER = 16 << 20;

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

/** `file` opened if it is a regular file (a FIFO is refused, not waited on), or undefined. */
function openFile(file: string): number | undefined {
  try {
    return openRegularFile(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EINVAL') return undefined;
    throw error;
  }
}

/** Whether `file` ends as a single-file bundle of any format (verifySingleFile names one it
 * cannot read). */
export function isSingleFile(file: string): boolean {
  let fd: number | undefined;
  try {
    fd = openFile(file);
    if (fd === undefined) return false;
    const { size } = fstatSync(fd);
    return size >= TRAILER && readAt(fd, size - TRAILER + 8, 15).equals(MAGIC_FAMILY);
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** How far before the end a trailer is looked for when it is not at the end. */
const APPENDED_SEARCH = 1 << 20;

/**
 * Where a single file's trailer ends, when bytes follow it (the file was appended to): the last
 * magic of this format within the last MiB whose offsets fit the file before it. Undefined when
 * there is none (then the file is no single file, or one cut short).
 */
export function trailerEnd(file: string): number | undefined {
  let fd: number | undefined;
  try {
    fd = openFile(file);
    if (fd === undefined) return undefined;
    const { size } = fstatSync(fd);
    const from = Math.max(0, size - APPENDED_SEARCH);
    const tail = readAt(fd, from, size - from);
    // The magic sits 8 bytes into its trailer; a trailer ending at the file's end is not this case.
    for (let magic = tail.lastIndexOf(MAGIC); magic >= 8; magic = tail.lastIndexOf(MAGIC, magic - 1)) {
      const trailer = tail.subarray(magic - 8, magic - 8 + TRAILER);
      const start = from + magic - 8;
      if (start + TRAILER >= size) continue;
      const [runnerAt, membersAt, indexAt] = [0, 24, 32].map((o) => Number(trailer.readBigUInt64LE(o))) as [number, number, number];
      if (runnerAt < membersAt && membersAt <= indexAt && indexAt <= start && (start - indexAt) % 8 === 0) return start + TRAILER;
    }
    return undefined;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Feed bytes `from`..`to` of `fd` to `hash` in 1 MiB reads (up to the file's end, if sooner:
 * the digest then differs). */
function hashRange(fd: number, from: number, to: number, hash: ReturnType<typeof createHash>): void {
  const buffer = Buffer.allocUnsafe(Math.min(1 << 20, Math.max(1, to - from)));
  for (let at = from; at < to; ) {
    const n = readSync(fd, buffer, 0, Math.min(buffer.length, to - at), at);
    if (n === 0) return;
    hash.update(buffer.subarray(0, n));
    at += n;
  }
}

export function verifySingleFile(file: string): SingleFileReport {
  const fd = openFile(file);
  if (fd === undefined) {
    throw new SidebundleError('INSPECT_NOT_A_BUNDLE', `${file} is not a regular file`, { input: file, kind: 'input', hint: 'give a .run file written by --emit-single-file, or a bundle directory' });
  }
  try {
    const { size } = fstatSync(fd);
    const trailer = size >= TRAILER ? readAt(fd, size - TRAILER, TRAILER) : Buffer.alloc(0);
    if (trailer.length === TRAILER && trailer.subarray(8, 23).equals(MAGIC_FAMILY) && !trailer.subarray(8, 24).equals(MAGIC)) {
      throw new SidebundleError('INSPECT_OTHER_FORMAT', `${file} is a single-file bundle of another format (${trailer.subarray(8, 24).toString('latin1')}) than this sidebundle reads (${MAGIC.toString('latin1')})`, {
        input: file,
        kind: 'input',
        hint: 'verify it with the sidebundle that wrote it, or rebuild it with this one',
      });
    }
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
    // The launcher and the runner, as the digest covers them (format 4).
    hashRange(fd, 0, membersAt, hash);
    const records = new RecordCheck();
    let at = membersAt;
    for (let i = 0; i < report.members; i++) {
      const compressed = index.readUInt32LE(i * 8);
      const length = index.readUInt32LE(i * 8 + 4);
      if (at + compressed > indexAt) {
        report.problems.push({ path: file, why: `member ${i + 1} of ${report.members} runs past the index` });
        return report;
      }
      if (length > MAX_MEMBER) {
        report.problems.push({ path: file, why: `member ${i + 1} of ${report.members} claims ${length} bytes, more than the ${MAX_MEMBER} the runner reads` });
        return report;
      }
      let bytes: Buffer;
      try {
        // Never more than the index promises: a member that inflates further is damaged, and is
        // not inflated whole (a small member can expand a thousandfold).
        bytes = inflateRawSync(readAt(fd, at, compressed), { maxOutputLength: Math.max(1, length) });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
          report.problems.push({ path: file, why: `member ${i + 1} of ${report.members} (at byte ${at}) inflates to more than the ${length} bytes the index says` });
          return report;
        }
        report.problems.push({ path: file, why: `member ${i + 1} of ${report.members} (at byte ${at}) does not inflate: ${(error as Error).message}` });
        return report;
      }
      if (bytes.length !== length) report.problems.push({ path: file, why: `member ${i + 1} of ${report.members} inflates to ${bytes.length} bytes, the index says ${length}` });
      hash.update(bytes);
      records.feed(bytes);
      at += compressed;
    }
    if (at !== indexAt) report.problems.push({ path: file, why: `${indexAt - at} bytes between the last member and the index` });
    const actual = hash.digest('hex');
    if (actual !== digest) report.problems.push({ path: file, why: `its contents hash to sha256 ${actual}, the trailer says ${digest}` });
    // A stream whose digest holds but that the runner would refuse (a crafted file) is damaged too.
    const refused = records.finish();
    if (refused !== undefined) report.problems.push({ path: file, why: `the runner would refuse its records: ${refused}` });
    report.ok = report.problems.length === 0;
    return report;
  } finally {
    closeSync(fd);
  }
}
