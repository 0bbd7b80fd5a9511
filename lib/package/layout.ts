// How the files of a plan lie on disk, decided once for the packager, the manifest and verify:
// each distinct content (with its mode) is one real file in the payload, and the bundle holds
// no second tree of it (no data/ store, no resources/traced/ mirror). Copies that drop hard
// links (Nx's cache, tar, rsync without -H, zip, CI artifacts) then cost nothing extra where
// the same content would otherwise be a link: a non-executable duplicate is a relative symlink
// to the first path with that content, which every copy keeps and every program reads through
// (ld.so, Python's importer); an executable duplicate stays a hard link, since a program's own
// path (argv[0], /proc/self/exe, $ORIGIN) must not turn into another's.
import * as path from 'node:path';

import type { PlanFile } from '../model/plan';

/** 2000-01-01T00:00:00Z: the one mtime of every bundle entry unless SOURCE_DATE_EPOCH is set.
 * Not 0: a restore that drops mtimes (to checkout time, or to 0) must be seen to change them. */
export const DEFAULT_EPOCH = 946_684_800;

/** The fixed mtime (seconds) of every file, directory and link of a bundle. */
export function bundleEpoch(env: NodeJS.ProcessEnv = process.env): number {
  const given = env.SOURCE_DATE_EPOCH;
  return given !== undefined && /^\d+$/.test(given) ? Number(given) : DEFAULT_EPOCH;
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

export type Placement =
  /** The real file holding this content (copied from its source or linked from the cache). */
  | { kind: 'stored' }
  /** A hard link to `of`, the stored file (an executable duplicate, or one in another payload). */
  | { kind: 'hardlink'; of: string }
  /** A symlink to `of`; `target` is relative to the link's directory. */
  | { kind: 'symlink'; of: string; target: string };

/** Where each file of `files` goes, by bundle path. Stored files come first in path order. */
export function placeFiles(files: ReadonlyArray<Pick<PlanFile, 'path' | 'sha256' | 'mode'>>): Map<string, Placement> {
  const first = new Map<string, string>(); // sha256 + mode -> the stored path
  const out = new Map<string, Placement>();
  for (const file of [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
    const mode = storedMode(file.mode);
    const key = `${file.sha256}:${mode}`;
    const of = first.get(key);
    if (of === undefined) {
      first.set(key, file.path);
      out.set(file.path, { kind: 'stored' });
    } else if ((mode & 0o111) !== 0 || topDir(of) !== topDir(file.path)) {
      // A symlink from payload-2 into payload would leave the root it is seen in at run time.
      out.set(file.path, { kind: 'hardlink', of });
    } else {
      out.set(file.path, { kind: 'symlink', of, target: path.posix.relative(path.posix.dirname(file.path), of) });
    }
  }
  return out;
}

function topDir(p: string): string {
  return p.slice(0, p.indexOf('/'));
}
