// The content store of a bundle: data/<sha256>, one file per distinct content, and the payload
// tree of hard links into it. Every copy is hashed as it is written and every content-store link
// is checked, so a file that changed since it was resolved (or a store copy edited in place) is
// caught instead of shipped under a wrong digest.
import { chmodSync, copyFileSync, linkSync, mkdirSync, statSync, unlinkSync, utimesSync } from 'node:fs';
import { chmod, stat, utimes } from 'node:fs/promises';
import * as path from 'node:path';

import { copyHashed, CopyWriteError, sha256File, type DigestMemo } from '../cache/file-digest';
import { mapLimit } from '../util/limit';
import { SidebundleError } from '../errors';
import type { PlanFile } from '../model/plan';

export interface ContentProgress {
  done: number;
  total: number;
  bytes: number;
}

export interface WriteContentOptions {
  signal?: AbortSignal;
  onProgress?: (progress: ContentProgress) => void;
  /** Where an existing copy of a content may be hard-linked from instead of copied. */
  reuse?: (sha256: string) => string | undefined;
  /** The digest memo: a content-store copy in a state it knows is linked without being read;
   * it learns the final state of the data/ files written. */
  digests?: DigestMemo;
}

/**
 * A file keeps its source's permission bits, never wider (a 0600 key stays private), minus:
 * setuid, setgid and sticky (a bundle must not carry privileges), and every write bit: payload
 * files are hard links shared with the cache's content store and with other bundles, so an edit
 * in place would reach them all; read-only, it fails with EACCES (root ignores modes: for root,
 * the next bundle is protected by the check before reuse, not the bundles that share the inode).
 */
export function storedMode(mode: number): number {
  return mode & 0o555;
}

/** Write data/ and the payload links of `files` into `bundleDir`. Returns the bytes stored. */
export async function writeContent(bundleDir: string, files: PlanFile[], options: WriteContentOptions = {}): Promise<number> {
  const byDigest = new Map<string, PlanFile>();
  for (const file of files) if (!byDigest.has(file.sha256)) byDigest.set(file.sha256, file);
  mkdirSync(path.join(bundleDir, 'data'), { recursive: true });

  let done = 0;
  let bytes = 0;
  await mapLimit([...byDigest.values()], 4, async (file) => {
    options.signal?.throwIfAborted();
    const stored = path.join(bundleDir, 'data', file.sha256);
    await storeOne(file, stored, options.reuse?.(file.sha256), options.digests);
    done += 1;
    bytes += file.size;
    options.onProgress?.({ done, total: byDigest.size, bytes });
  });

  const made = new Set<string>();
  for (const file of files) {
    options.signal?.throwIfAborted();
    const target = path.join(bundleDir, file.path);
    const parent = path.dirname(target);
    if (!made.has(parent)) {
      mkdirSync(parent, { recursive: true });
      made.add(parent);
    }
    const stored = path.join(bundleDir, 'data', file.sha256);
    if (storedMode(file.mode) === storedMode(byDigest.get(file.sha256)!.mode)) {
      linkSync(stored, target);
    } else {
      // Same bytes, different mode: a link would share the mode, so this one is a copy.
      copyFileSync(stored, target);
      chmodSync(target, storedMode(file.mode));
      const { mtime } = statSync(stored);
      utimesSync(target, mtime, mtime);
    }
  }
  // Every data/ file was verified above; the links just made changed their ctime, so the memo
  // learns their final state (the package step's cache describes them next).
  for (const file of byDigest.values()) options.digests?.remember(path.join(bundleDir, 'data', file.sha256), { sha256: file.sha256, size: file.size });
  return bytes;
}

async function storeOne(file: PlanFile, stored: string, reusable: string | undefined, digests: DigestMemo | undefined): Promise<void> {
  if (reusable !== undefined && (await linkVerified(reusable, stored, file.sha256, storedMode(file.mode), digests))) return;
  let copied;
  try {
    copied = await copyHashed(file.source, stored, storedMode(file.mode));
  } catch (error) {
    if (error instanceof CopyWriteError) throw error.cause; // the output's fault (ENOSPC, EROFS): reported as such by the caller
    throw new SidebundleError('SOURCE_UNREADABLE', `cannot copy ${file.source}: ${(error as Error).message}`, {
      input: file.source,
      hint: 'the file disappeared or is unreadable since it was resolved; run again',
      cause: error,
    });
  }
  if (copied.sha256 !== file.sha256) {
    // The memo's digest of the source was wrong (a damaged or forged digests.json) or the file
    // changed since: forget it, so the next run hashes the source again.
    digests?.forget(file.source);
    throw new SidebundleError('SOURCE_CHANGED', `${file.source} changed after it was resolved (expected sha256 ${file.sha256}, copied ${copied.sha256})`, {
      input: file.source,
      hint: 'something is modifying the file (or the digest cache was damaged); run again once it is stable',
    });
  }
  await chmod(stored, storedMode(file.mode));
  // Keep the source's mtime: deterministic, and interpreters that validate caches by source
  // mtime (Python's __pycache__) keep using their precompiled files.
  const { mtime } = await stat(file.source);
  await utimes(stored, mtime, mtime);
}

/**
 * Hard-link a content-store copy. Trusted without reading only when the digest memo knows its
 * exact state (ctime included, which an edit cannot put back) from before the link; otherwise
 * hashed after linking, and a copy that no longer holds its digest (edited in place through a
 * bundle's link) is dropped from the store, so the source is copied instead.
 */
async function linkVerified(reusable: string, stored: string, sha: string, mode: number, digests: DigestMemo | undefined): Promise<boolean> {
  let before;
  try {
    before = statSync(reusable, { bigint: true });
    // The store holds one inode per content, with the mode of the bundle that stored it first;
    // a link shares that mode, so content wanted with another mode is copied instead.
    if (Number(before.mode & 0o7777n) !== mode) return false;
    linkSync(reusable, stored);
  } catch {
    return false; // another filesystem, or gone: copy instead
  }
  const after = statSync(stored, { bigint: true });
  const same = after.dev === before.dev && after.ino === before.ino && after.size === before.size && after.mtimeNs === before.mtimeNs;
  if (same && digests?.knownStats(before)?.sha256 === sha) return true;
  if (same && (await sha256File(stored)).sha256 === sha) return true;
  unlinkSync(stored);
  try {
    if (statSync(reusable, { bigint: true }).ino === before.ino) unlinkSync(reusable);
  } catch {
    // already replaced or removed by another run
  }
  return false;
}
