// The payload's files: each distinct content written once, as a real file at the first path
// that has it, the other paths linked to it (layout.ts says how). Every copy is hashed as it is
// written, unless this run hashed its source and the source has not changed since (then the
// kernel copies it unread: DigestMemo.settled, copyOnce), and every link from the cache's content
// store is checked, so a file that changed since it was resolved (or a store copy edited in
// place) is caught instead of shipped under a wrong digest. Every file gets the bundle's one
// mtime (the epoch), never its source's.
import { chmodSync, linkSync, lutimesSync, mkdirSync, symlinkSync, unlinkSync, statSync, utimesSync } from 'node:fs';
import * as path from 'node:path';

import { copyOnce, CopyWriteError, sha256File, type DigestMemo, type FileDigest } from '../cache/file-digest';
import { mapLimit } from '../util/limit';
import { SidebundleError } from '../errors';
import type { PlanFile } from '../model/plan';
import { placeFiles, storedMode } from './layout';

export { storedMode } from './layout';

export interface ContentProgress {
  done: number;
  total: number;
  bytes: number;
}

export interface WriteContentOptions {
  /** The mtime (seconds) every file gets. */
  epoch: number;
  signal?: AbortSignal;
  onProgress?: (progress: ContentProgress) => void;
  /** Where an existing copy of a content may be hard-linked from instead of copied (a path
   * where nothing is means: copy it). */
  reuse?: (sha256: string) => string | undefined;
  /** The digest memo: a content-store copy in a state it knows is linked without being read;
   * it learns the final state of the stored files written. */
  digests?: DigestMemo;
  /** Told the bundle path of each stored file hard-linked from `reuse` (the store holds it). */
  onLinked?: (bundlePath: string) => void;
}

export interface WrittenContent {
  /** Bytes stored (each content once). */
  bytes: number;
  /** The files written as real files (the others link to them), each verified against its digest. */
  stored: PlanFile[];
}

/** Write the files of `files` into `bundleDir`. */
export async function writeContent(bundleDir: string, files: PlanFile[], options: WriteContentOptions): Promise<WrittenContent> {
  const placement = placeFiles(files);
  const stored = files.filter((f) => placement.get(f.path)!.kind === 'stored');
  const made = new Set<string>();
  const parentOf = (target: string) => {
    const parent = path.dirname(target);
    if (!made.has(parent)) {
      mkdirSync(parent, { recursive: true });
      made.add(parent);
    }
  };
  for (const file of stored) parentOf(path.join(bundleDir, file.path));

  let done = 0;
  let bytes = 0;
  // The first failure (or Ctrl+C) is thrown only once every copy under way has settled: the
  // caller then removes the staging directory, and a copy still writing into it made that
  // removal fail (a file created in a directory being removed) and left the directory behind.
  let failed: { error: unknown } | undefined;
  await mapLimit(stored, 4, async (file) => {
    if (failed) return;
    try {
      options.signal?.throwIfAborted();
      if (await storeOne(file, path.join(bundleDir, file.path), options.reuse?.(file.sha256), options.digests, options.epoch)) options.onLinked?.(file.path);
      done += 1;
      bytes += file.size;
      // Inside the try: a progress callback that throws (EPIPE on a closed stderr) must not
      // end the wait for the copies under way either.
      options.onProgress?.({ done, total: stored.length, bytes });
    } catch (error) {
      failed ??= { error };
    }
  });
  if (failed) throw failed.error;

  for (const file of files) {
    const place = placement.get(file.path)!;
    if (place.kind === 'stored') continue;
    options.signal?.throwIfAborted();
    const target = path.join(bundleDir, file.path);
    parentOf(target);
    if (place.kind === 'hardlink') {
      linkSync(path.join(bundleDir, place.of), target);
    } else {
      symlinkSync(place.target, target);
      lutimesSync(target, options.epoch, options.epoch);
    }
  }
  // Every stored file was verified above; links made since changed their ctime, so the memo
  // learns their final state (the package step's cache describes them next).
  for (const file of stored) options.digests?.remember(path.join(bundleDir, file.path), { sha256: file.sha256, size: file.size });
  return { bytes, stored };
}

/** Store one file: linked from `reusable` (returns true) or copied from its source. */
async function storeOne(file: PlanFile, stored: string, reusable: string | undefined, digests: DigestMemo | undefined, epoch: number): Promise<boolean> {
  if (reusable !== undefined && (await linkVerified(reusable, stored, file.sha256, storedMode(file.mode), epoch, digests))) return true;
  let copied: FileDigest;
  try {
    copied = await copyOnce(file.source, stored, storedMode(file.mode), digests);
  } catch (error) {
    if (error instanceof CopyWriteError) throw error.cause; // the output's fault (ENOSPC, EROFS): reported as such by the caller
    throw new SidebundleError('SOURCE_UNREADABLE', `cannot copy ${file.source}: ${(error as Error).message}`, {
      input: file.source,
      hint: 'the file disappeared or is unreadable since it was resolved; run again',
      cause: error,
    });
  }
  if (copied.sha256 !== file.sha256) {
    // The memo's digest of the source was wrong (a damaged or forged memo.bin) or the file
    // changed since: forget it, so the next run hashes the source again.
    digests?.forget(file.source);
    throw new SidebundleError('SOURCE_CHANGED', `${file.source} changed after it was resolved (expected sha256 ${file.sha256}, copied ${copied.sha256})`, {
      input: file.source,
      hint: 'something is modifying the file (or the digest cache was damaged); run again once it is stable',
    });
  }
  // Synchronous: two metadata calls of a few µs each, where the promise versions cost a trip
  // through the thread pool each.
  chmodSync(stored, storedMode(file.mode));
  // One fixed time, not the source's: the store inode is shared with the cache and keeps the
  // time it gets here, so a source's time would make the bundle depend on which build stored it.
  utimesSync(stored, epoch, epoch);
  return false;
}

/**
 * Hard-link a content-store copy. Trusted without reading only when the digest memo knows its
 * exact state (ctime included, which an edit cannot put back) from before the link; otherwise
 * hashed after linking, and a copy that no longer holds its digest (edited in place through a
 * bundle's link) is dropped from the store, so the source is copied instead.
 */
async function linkVerified(reusable: string, stored: string, sha: string, mode: number, epoch: number, digests: DigestMemo | undefined): Promise<boolean> {
  let before;
  try {
    before = statSync(reusable, { bigint: true });
    // The store holds one inode per content, with the mode of the bundle that stored it first;
    // a link shares that mode, so content wanted with another mode is copied instead.
    if (Number(before.mode & 0o7777n) !== mode) return false;
    // Likewise its time: one stored under another epoch (SOURCE_DATE_EPOCH) is copied, never
    // re-stamped, since other bundles share that inode.
    if (before.mtimeNs !== BigInt(epoch) * 1_000_000_000n) return false;
    linkSync(reusable, stored);
  } catch {
    return false; // another filesystem, or gone: copy instead
  }
  const after = statSync(stored, { bigint: true });
  const same = after.dev === before.dev && after.ino === before.ino && after.size === before.size && after.mtimeNs === before.mtimeNs;
  if (same && digests?.knownStats(before)?.sha256 === sha) return true;
  // Anything but a regular file there (a FIFO planted in the store) is not the content: copied instead.
  if (same && (await sha256File(stored).catch(() => undefined))?.sha256 === sha) return true;
  unlinkSync(stored);
  try {
    if (statSync(reusable, { bigint: true }).ino === before.ino) unlinkSync(reusable);
  } catch {
    // already replaced or removed by another run
  }
  return false;
}
