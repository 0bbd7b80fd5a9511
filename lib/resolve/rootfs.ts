// A root-confined view of a directory tree: paths are resolved component by component inside
// the root, absolute symlinks restart at the root and `..` stops at it, so nothing a root
// contains can make us read outside it. Every symlink hop is recorded, because a bundle must
// answer at the paths programs use (`/lib64/ld-linux-x86-64.so.2`), not only at canonical ones.
// Every probe is recorded too (found, absent, link), and so is every directory listed and file
// read through it, which is what a content-keyed cache (and sidebundle.lock) needs.
import { lstatSync, readdirSync, readFileSync, readlinkSync, type Dirent, type Stats } from 'node:fs';
import * as path from 'node:path';

import { readElf, type ElfInfo } from '../elf';
import { SidebundleError, errnoCode } from '../errors';

/** Linux gives up after 40 symlinks in one lookup (MAXSYMLINKS); so do we. */
const MAX_SYMLINKS = 40;

export interface SymlinkHop {
  /** Logical path of the symlink (canonical up to its last component). */
  path: string;
  /** The link's target exactly as stored. */
  target: string;
}

export interface Walk {
  /** Canonical logical path: absolute inside the root, no symlinks, no `.` or `..`. */
  path: string;
  /** Symlinks traversed on the way, in order. */
  links: SymlinkHop[];
  stats: Stats;
}

/** What a lookup found at a path: content is digested by the cache, not here. */
export type Probe = { kind: 'absent' | 'file' | 'dir' | 'other' } | { kind: 'link'; target: string };

export class RootFs {
  /** Absolute host directory that is `/` for this view. */
  readonly root: string;
  private readonly stats = new Map<string, Stats | null>();
  private readonly targets = new Map<string, string>();
  private readonly elves = new Map<string, ElfInfo | SidebundleError>();
  private readonly listed = new Set<string>();
  private readonly contents = new Set<string>();

  constructor(root: string) {
    this.root = path.resolve(root);
  }

  /** Host path of a logical path (no resolution: the caller must use a canonical path). */
  hostPath(logical: string): string {
    return this.root === '/' ? logical : path.join(this.root, logical);
  }

  /**
   * Resolve `logical` (absolute, inside the root) to its canonical path, following symlinks
   * (also the last component unless `followLast` is false). Null when it does not exist.
   */
  resolve(logical: string, followLast = true): Walk | null {
    if (!logical.startsWith('/')) {
      throw new SidebundleError('PATH_NOT_ABSOLUTE', `${logical} is not an absolute path`, {
        input: logical,
        kind: 'input',
        hint: 'paths inside a root are absolute',
      });
    }
    const links: SymlinkHop[] = [];
    // The canonical path so far, '' for the root: strings joined as the walk goes (this runs for
    // every path probed, so no array is copied and joined per component).
    let done = '';
    const todo = splitPath(logical);
    let hops = 0;
    while (todo.length > 0) {
      const part = todo.shift()!;
      if (part === '.') continue;
      if (part === '..') {
        done = done.slice(0, Math.max(0, done.lastIndexOf('/')));
        continue;
      }
      const candidate = `${done}/${part}`;
      const stats = this.lstat(candidate);
      if (stats === null) return null;
      if (stats.isSymbolicLink() && (todo.length > 0 || followLast)) {
        if (++hops > MAX_SYMLINKS) {
          throw new SidebundleError('PATH_SYMLINK_LOOP', `too many levels of symbolic links resolving ${logical}`, {
            input: logical,
            kind: 'input',
            hint: `the symlinks ${links.slice(0, 4).map((l) => `${l.path} -> ${l.target}`).join(', ')} ... form a loop; fix or remove them`,
            details: { links: links.slice(0, MAX_SYMLINKS) },
          });
        }
        const target = this.readlink(candidate);
        links.push({ path: candidate, target });
        if (target.startsWith('/')) done = '';
        todo.unshift(...splitPath(target));
        continue;
      }
      if (todo.length > 0 && !stats.isDirectory()) return null; // ENOTDIR
      done = candidate;
    }
    const canonical = done === '' ? '/' : done;
    const stats = this.lstat(canonical);
    if (stats === null) return null;
    return { path: canonical, links, stats };
  }

  /** lstat of a canonical logical path (cached for the lifetime of this view). */
  lstat(logical: string): Stats | null {
    let stats = this.stats.get(logical);
    if (stats === undefined) {
      try {
        // An absent path is the common answer of a search: undefined, not a thrown ENOENT.
        stats = lstatSync(this.hostPath(logical), { bigint: false, throwIfNoEntry: false }) ?? null;
      } catch (error) {
        const code = errnoCode(error);
        if (code !== 'ENOENT' && code !== 'ENOTDIR' && code !== 'ENAMETOOLONG') throw wrapFsError(error, logical);
        stats = null;
      }
      this.stats.set(logical, stats);
    }
    return stats;
  }

  private readlink(logical: string): string {
    let target = this.targets.get(logical);
    if (target === undefined) {
      try {
        target = readlinkSync(this.hostPath(logical));
      } catch (error) {
        throw wrapFsError(error, logical);
      }
      this.targets.set(logical, target);
    }
    return target;
  }

  /** The ELF facts of a canonical logical path, read once per view (errors too). */
  elf(logical: string): ElfInfo {
    let info = this.elves.get(logical);
    if (info === undefined) {
      try {
        info = readElf(this.hostPath(logical));
      } catch (error) {
        if (!(error instanceof SidebundleError)) throw error;
        info = error;
      }
      this.elves.set(logical, info);
    }
    if (info instanceof SidebundleError) throw info;
    return info;
  }

  /** The entries of a canonical directory (sorted by name), recorded as listed: a name added
   * there can change what a reader of the listing chose. Throws as readdir does. */
  readdir(logical: string): Dirent[] {
    this.listed.add(logical);
    return readdirSync(this.hostPath(logical), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** The bytes of a canonical file, recorded as read. Throws as readFile does. */
  readFile(logical: string): Buffer {
    this.contents.add(logical);
    return readFileSync(this.hostPath(logical));
  }

  /** Directories listed and files read through readdir/readFile (logical paths, sorted). */
  reads(): { listed: string[]; read: string[] } {
    return { listed: [...this.listed].sort(), read: [...this.contents].sort() };
  }

  /** Everything this view looked at, for cache validation: from logical path to what was there. */
  probes(): Map<string, Probe> {
    const out = new Map<string, Probe>();
    for (const [logical, stats] of this.stats) {
      if (stats === null) out.set(logical, { kind: 'absent' });
      else if (stats.isSymbolicLink()) out.set(logical, { kind: 'link', target: this.targets.get(logical) ?? this.readlink(logical) });
      else out.set(logical, { kind: stats.isFile() ? 'file' : stats.isDirectory() ? 'dir' : 'other' });
    }
    return out;
  }
}

function splitPath(p: string): string[] {
  return p.split('/').filter((part) => part.length > 0);
}

/** Lexically join `base` (absolute) and `relative`, keeping `..` for the walker to resolve. */
export function joinLogical(base: string, relative: string): string {
  if (relative.startsWith('/')) return relative;
  return `${base.endsWith('/') ? base : `${base}/`}${relative}`;
}

function wrapFsError(error: unknown, logical: string): SidebundleError {
  return new SidebundleError('PATH_UNREADABLE', `cannot read ${logical}: ${(error as Error).message}`, {
    input: logical,
    hint: 'check permissions on the path',
    cause: error,
  });
}
