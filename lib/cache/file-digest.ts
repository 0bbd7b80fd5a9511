// Copies that hash what they write (one read) or, for a file this process hashed and that has
// not changed since, leave the bytes to the kernel (no read at all). The memo and the hashing
// live in digest-memo.ts and sha256-file.ts; this module is where the package step finds all three.
import { constants, statSync } from 'node:fs';
import { copyFile, open, rm, type FileHandle } from 'node:fs/promises';

import { statKey, type DigestMemo } from './digest-memo';
import { hashStream, type FileDigest } from './sha256-file';
import { notAFile } from '../util/regular-file';

export { DigestMemo, SETTLED_MS, statKey } from './digest-memo';
export { sha256File, type FileDigest } from './sha256-file';

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
  // Only a regular file, opened without blocking: a source swapped for a FIFO would otherwise
  // hang the copy, and with it a failure's report (the package step waits for copies under way).
  const before = statSync(source);
  if (!before.isFile()) throw notAFile(source, before); // not opened: opening a device can act
  const input = await open(source, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const opened = await input.stat();
    if (!opened.isFile()) throw notAFile(source, opened);
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

/**
 * Copy `source` to the new file `target` in the kernel (a reflink where the file system offers
 * one, else copy_file_range: no byte passes through this process) when `memo` vouches for its
 * state (DigestMemo.settled) and that state holds from before the copy to after it. Returns the
 * digest, or undefined (the target not created) when the memo cannot vouch, the source changed
 * during the copy or the kernel copy failed: the caller then hashes while copying, which reports
 * each failure as what it is. The target gets the source's mode, for the caller to set.
 */
export async function copyKnown(source: string, target: string, memo: DigestMemo, copy: KernelCopy = kernelCopy): Promise<FileDigest | undefined> {
  const before = statSync(source, { bigint: true });
  const known = memo.settled(before);
  if (known === undefined) return undefined;
  try {
    await copy(source, target);
  } catch (error) {
    // The target was not ours when it already existed; otherwise drop what was half-written.
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') await rm(target, { force: true });
    return undefined;
  }
  const after = statSync(source, { bigint: true });
  if (statKey(after) !== statKey(before) || statSync(target).size !== known.size) {
    await rm(target, { force: true });
    return undefined;
  }
  return known;
}

/** Copy a file to a new path without reading it here (tests swap it to change the source mid-copy). */
export type KernelCopy = (source: string, target: string) => Promise<void>;

const kernelCopy: KernelCopy = (source, target) => copyFile(source, target, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE);

/** One read at most: the kernel copies a file `memo` vouches for (copyKnown), anything else is
 * hashed while it is copied (copyHashed, whose errors the callers report). */
export async function copyOnce(source: string, target: string, mode: number, memo?: DigestMemo): Promise<FileDigest> {
  return (memo && (await copyKnown(source, target, memo))) ?? copyHashed(source, target, mode);
}
