// Listing directories inside a root for the families: sorted, root-confined (the directory is
// resolved through RootFs; entries below are read with lstat, never followed), with sizes for
// budgets. Paths keep the spelling of the directory asked for, so the links on the way (perl/5.36
// -> 5.36.0) are kept when the resolver walks them. Listings and reads go through the RootFs, which
// records them: they are what collection depends on (sidebundle.lock lists them for Nx).
import type { RootFs } from '../resolve/rootfs';

export interface TreeEntry {
  /** Logical path under the directory as named. */
  path: string;
  /** Path relative to that directory. */
  relative: string;
  size: number;
  link: boolean;
}

/** Skip a subtree or a file: given its path relative to the listed directory. */
export type Skip = (relative: string, isDir: boolean) => boolean;

/** Files and symlinks below `dir` (recursively), sorted; [] when it is not a directory. */
export function listTree(fs: RootFs, dir: string, skip: Skip = () => false): TreeEntry[] {
  const walk = fs.resolve(dir);
  if (walk === null || !walk.stats.isDirectory()) return [];
  const out: TreeEntry[] = [];
  const visit = (canonical: string, relative: string) => {
    let items;
    try {
      items = fs.readdir(canonical);
    } catch {
      return; // unreadable: nothing to ship from it
    }
    for (const item of items) {
      const rel = relative === '' ? item.name : `${relative}/${item.name}`;
      if (item.isDirectory()) {
        if (!skip(rel, true)) visit(`${canonical === '/' ? '' : canonical}/${item.name}`, rel);
      } else if ((item.isFile() || item.isSymbolicLink()) && !skip(rel, false)) {
        const size = item.isFile() ? sizeOf(fs, `${walk.path}/${rel}`) : 0;
        out.push({ path: `${dir === '/' ? '' : dir}/${rel}`, relative: rel, size, link: item.isSymbolicLink() });
      }
    }
  };
  visit(walk.path, '');
  return out;
}

/** Whether `logical` is a directory in the root (after links). */
export function isDir(fs: RootFs, logical: string): boolean {
  return fs.resolve(logical)?.stats.isDirectory() ?? false;
}

/** Whether `logical` is a regular file in the root (after links). */
export function isFile(fs: RootFs, logical: string): boolean {
  return fs.resolve(logical)?.stats.isFile() ?? false;
}

/** The text of a regular file in the root, or undefined (absent, not a file, too big). */
export function readText(fs: RootFs, logical: string, limit = 16 * 1024 * 1024): string | undefined {
  const walk = fs.resolve(logical);
  if (walk === null || !walk.stats.isFile() || walk.stats.size > limit) return undefined;
  try {
    return fs.readFile(walk.path).toString('utf8');
  } catch {
    return undefined;
  }
}

function sizeOf(fs: RootFs, canonical: string): number {
  return fs.lstat(canonical)?.size ?? 0;
}
