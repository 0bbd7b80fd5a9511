// The content store of a bundle: data/<sha256>, one file per distinct content, and the payload
// tree of hard links into it. Every copy is hashed after it is written, so a file that changed
// since it was resolved is caught instead of shipped under a wrong digest.
import { chmodSync, copyFileSync, linkSync, mkdirSync, statSync, unlinkSync, utimesSync } from 'node:fs';
import { chmod, copyFile, stat, utimes } from 'node:fs/promises';
import * as path from 'node:path';

import { sha256File, type DigestMemo } from '../cache/file-digest';
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
  /** Digests of sources hashed earlier: a source whose stat is unchanged since is not re-read. */
  digests?: DigestMemo;
}

/** A file keeps its source's permission bits, never wider: a 0600 key stays 0600. Setuid,
 * setgid and sticky bits are dropped (a bundle must not carry privileges). */
export function storedMode(mode: number): number {
  return mode & 0o777;
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
  return bytes;
}

async function storeOne(file: PlanFile, stored: string, reusable: string | undefined, digests: DigestMemo | undefined): Promise<void> {
  if (reusable !== undefined && (await linkVerified(reusable, stored, file.sha256, storedMode(file.mode), digests))) return;
  try {
    await copyFile(file.source, stored);
  } catch (error) {
    throw new SidebundleError('SOURCE_UNREADABLE', `cannot copy ${file.source}: ${(error as Error).message}`, {
      input: file.source,
      hint: 'the file disappeared or is unreadable since it was resolved; run again',
      cause: error,
    });
  }
  await chmod(stored, storedMode(file.mode));
  // Keep the source's mtime: deterministic, and interpreters that validate caches by source
  // mtime (Python's __pycache__) keep using their precompiled files.
  const { mtime } = await stat(file.source);
  await utimes(stored, mtime, mtime);
  // The source is unchanged since it was hashed (same dev, inode, size and mtime after the
  // copy): the copy holds the hashed bytes, no need to read them again.
  if (digests?.known(file.source)?.sha256 === file.sha256) return;
  const { sha256 } = await sha256File(stored);
  if (sha256 !== file.sha256) {
    throw new SidebundleError('SOURCE_CHANGED', `${file.source} changed after it was resolved (expected sha256 ${file.sha256}, copied ${sha256})`, {
      input: file.source,
      hint: 'something is modifying the file; run again once it is stable',
    });
  }
}

/**
 * Hard-link a content-store copy. Trusted without reading when its inode is unchanged since it
 * was verified (the digest memo); otherwise hashed, and a copy that no longer holds its digest
 * (edited in place through a bundle's link) is dropped so the source is copied instead.
 */
async function linkVerified(reusable: string, stored: string, sha: string, mode: number, digests: DigestMemo | undefined): Promise<boolean> {
  try {
    // The store holds one inode per content, with the mode of the bundle that stored it first;
    // a link shares that mode, so content wanted with another mode is copied instead.
    if ((statSync(reusable).mode & 0o7777) !== mode) return false;
    linkSync(reusable, stored);
  } catch {
    return false; // another filesystem, or gone: copy instead
  }
  if (digests?.known(stored)?.sha256 === sha) return true;
  const computed = await sha256File(stored);
  if (computed.sha256 === sha) {
    digests?.remember(stored, computed);
    return true;
  }
  unlinkSync(stored);
  return false;
}
