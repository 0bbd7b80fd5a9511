// glibc's library search (elf/dl-load.c, _dl_map_object), reproduced inside a root:
//   1. a name with a slash is a path;
//   2. an object already loaded under that name or soname is reused;
//   3. DT_RPATH of the requesting object and of each object that loaded it, up to the program
//      (only when the requesting object has no DT_RUNPATH; an object with both ignores RPATH);
//   4. LD_LIBRARY_PATH (here: the `libraryPath` option);
//   5. DT_RUNPATH of the requesting object only (not inherited);
//   6. /etc/ld.so.cache, then the loader's system directories (both skipped for DF_1_NODEFLIB).
// Every directory is also searched in its glibc-hwcaps/x86-64-v{4,3,2} subdirectories. A CPU
// without those levels loads the plain file, so the plain file is the answer and hwcaps copies
// are its variants (bundled too, so the loader on the target picks what its CPU supports).
// Files of another class or machine are skipped, as ld.so does, and the search goes on.
import { DF_1_NODEFLIB, type ElfInfo } from '../elf';
import { isSidebundleError } from '../errors';
import type { SearchSource } from '../model/closure';
import { lookupLdCache, type LdCache } from './ldcache';
import type { LoaderConfig } from './loader-config';
import type { RootFs, SymlinkHop } from './rootfs';

export const HWCAPS_LEVELS = ['x86-64-v4', 'x86-64-v3', 'x86-64-v2'];

export interface LoadedObject {
  /** Canonical logical path. */
  path: string;
  /** The path the loader opened it by ($ORIGIN is its directory; for the program, the canonical one). */
  foundAs: string;
  info: ElfInfo;
  /** The object whose dependency caused this one to load (glibc's l_loader). */
  loader?: LoadedObject;
  source: SearchSource | 'program' | 'interpreter';
  /** Found through an RPATH/RUNPATH element with $ORIGIN: found the same way inside a bundle. */
  fromOrigin?: boolean;
  /** The DT_NEEDED name it was first loaded for. */
  neededName?: string;
  links: SymlinkHop[];
  variants: Variant[];
}

export interface Variant {
  level: string;
  path: string;
  foundAs: string;
  links: SymlinkHop[];
  info: ElfInfo;
}

export interface SearchContext {
  fs: RootFs;
  cache: LdCache | null;
  config: LoaderConfig;
  /** Directories searched like LD_LIBRARY_PATH (logical). */
  libraryPath: string[];
  /** Called for files skipped or ignored on the way (wrong class, unreadable, bad token). */
  note: (code: string, message: string, input: string) => void;
  /** Called for problems that make the program fail to load. */
  warn: (code: string, message: string, input: string) => void;
}

export interface Found {
  path: string;
  foundAs: string;
  source: SearchSource;
  fromOrigin: boolean;
  info: ElfInfo;
  links: SymlinkHop[];
  variants: Variant[];
}

type Candidate = Omit<Found, 'source' | 'variants' | 'fromOrigin'>;

export interface SearchDir {
  dir: string;
  fromOrigin: boolean;
}

/** Search for `name` needed by `requester` (glibc order, steps 3 to 6; steps 1-2 are the caller's). */
export function searchLibrary(name: string, requester: LoadedObject, ctx: SearchContext): Found | null {
  try {
    return search(name, requester, ctx);
  } catch (error) {
    if (error instanceof Unloadable) return null;
    throw error;
  }
}

function search(name: string, requester: LoadedObject, ctx: SearchContext): Found | null {
  if (name.includes('/')) {
    const hit = tryFile(name, ctx);
    return hit ? { ...hit, source: 'path', fromOrigin: false, variants: [] } : null;
  }
  const variants: Variant[] = [];
  const inDirs = (dirs: SearchDir[], source: SearchSource): Found | null => {
    for (const { dir, fromOrigin } of dirs) {
      const hit = searchDir(dir, name, ctx, variants);
      if (hit) return { ...hit, source, fromOrigin, variants };
    }
    return null;
  };
  const plain = (dirs: string[]) => dirs.map((dir) => ({ dir, fromOrigin: false }));

  if (requester.info.runpath === undefined) {
    for (let object: LoadedObject | undefined = requester; object; object = object.loader) {
      const hit = inDirs(rpathDirs(object, 'rpath', ctx), 'rpath');
      if (hit) return hit;
    }
  }
  const fromLibraryPath = inDirs(plain(ctx.libraryPath), 'library-path');
  if (fromLibraryPath) return fromLibraryPath;
  const fromRunpath = inDirs(rpathDirs(requester, 'runpath', ctx), 'runpath');
  if (fromRunpath) return fromRunpath;
  if ((requester.info.flags1 & DF_1_NODEFLIB) !== 0) return bestVariant(variants);

  if (ctx.cache) {
    const { path, variants: cached } = lookupLdCache(ctx.cache, name);
    for (const entry of cached) {
      const hit = tryFile(entry.path, ctx);
      if (hit && !variants.some((v) => v.path === hit.path)) variants.push({ level: entry.hwcaps!, ...hit });
    }
    if (path !== undefined) {
      const hit = tryFile(path, ctx);
      if (hit) return { ...hit, source: 'ld.so.cache', fromOrigin: false, variants };
    }
  }
  return inDirs(plain(ctx.config.systemDirs), 'default-dirs') ?? bestVariant(variants);
}

/** Only hwcaps copies exist: a CPU with that level loads it; say so through the source. */
function bestVariant(variants: Variant[]): Found | null {
  const best = HWCAPS_LEVELS.map((level) => variants.find((v) => v.level === level)).find((v) => v !== undefined);
  if (!best) return null;
  return { path: best.path, foundAs: best.foundAs, source: 'default-dirs', fromOrigin: false, info: best.info, links: best.links, variants: variants.filter((v) => v !== best) };
}

function searchDir(dir: string, name: string, ctx: SearchContext, variants: Variant[]): Candidate | null {
  const base = dir.endsWith('/') ? dir.slice(0, -1) : dir;
  if (hasHwcaps(base, ctx)) {
    for (const level of HWCAPS_LEVELS) {
      const hit = tryFile(`${base}/glibc-hwcaps/${level}/${name}`, ctx);
      if (hit && !variants.some((v) => v.path === hit.path)) variants.push({ level, ...hit });
    }
  }
  return tryFile(`${base}/${name}`, ctx);
}

/** Whether `base` has a glibc-hwcaps subdirectory. A directory ld.so cannot open (a symlink
 * loop on the way, say) it skips, as it skips a missing one: noted, and the search goes on. */
function hasHwcaps(base: string, ctx: SearchContext): boolean {
  try {
    return ctx.fs.resolve(`${base}/glibc-hwcaps`) !== null;
  } catch (error) {
    if (!isSidebundleError(error)) throw error;
    ctx.note(error.code, error.message, base);
    return false;
  }
}

/** ld.so stops the whole search at a file it cannot load as ELF (open_verify "lose"). */
class Unloadable extends Error {}

/**
 * Open a candidate as ld.so's open_verify does: a missing file, or an ELF of another class or
 * machine, is skipped and the search goes on; a file that is not a loadable ELF at all (too
 * short, bad magic) stops the search: ld.so fails there, and so does the closure.
 */
function tryFile(logical: string, ctx: SearchContext): Candidate | null {
  let walk;
  try {
    walk = ctx.fs.resolve(logical);
  } catch (error) {
    if (isSidebundleError(error)) {
      ctx.note(error.code, error.message, logical);
      return null;
    }
    throw error;
  }
  if (walk === null || !walk.stats.isFile()) return null;
  try {
    return { path: walk.path, foundAs: logical, info: ctx.fs.elf(walk.path), links: walk.links };
  } catch (error) {
    if (!isSidebundleError(error)) throw error;
    if (error.code === 'ELF_UNSUPPORTED') {
      ctx.note('LIBRARY_SKIPPED', `skipped ${logical}: ${error.message}`, logical);
      return null;
    }
    ctx.warn('LIBRARY_UNLOADABLE', `${logical} is where the loader looks, and it cannot load it (${error.message}); the program fails there too`, logical);
    throw new Unloadable(logical);
  }
}

/** The directories of an object's DT_RPATH or DT_RUNPATH, with $ORIGIN, $LIB, $PLATFORM expanded. */
export function rpathDirs(object: LoadedObject, which: 'rpath' | 'runpath', ctx: SearchContext): SearchDir[] {
  const raw = which === 'rpath' ? (object.info.runpath === undefined ? object.info.rpath : undefined) : object.info.runpath;
  if (raw === undefined) return [];
  const origin = dirname(object.foundAs);
  const dirs: SearchDir[] = [];
  for (const element of raw.split(':')) {
    if (element === '') continue; // an empty element means the process's cwd: unknowable when bundling
    const expanded = expandTokens(element, origin, ctx.config);
    if (!expanded.startsWith('/')) {
      ctx.note('RPATH_RELATIVE', `ignored ${which.toUpperCase()} element "${element}" of ${object.path}: it is relative to the working directory at run time`, object.path);
      continue;
    }
    dirs.push({ dir: expanded, fromOrigin: /\$(\{ORIGIN\}|ORIGIN(?![A-Za-z_]))/.test(element) });
  }
  return dirs;
}

/** Expand dynamic string tokens as glibc does; anything that is not a token stays literal. */
export function expandTokens(element: string, origin: string, config: LoaderConfig): string {
  return element.replace(/\$(\{([A-Za-z_]+)\}|([A-Za-z_]+))/g, (all, _group, braced?: string, bare?: string) => {
    switch (braced ?? bare) {
      case 'ORIGIN': return origin;
      case 'LIB': return config.lib;
      case 'PLATFORM': return config.platform;
      default: return all;
    }
  });
}

export function dirname(logical: string): string {
  const cut = logical.lastIndexOf('/');
  return cut <= 0 ? '/' : logical.slice(0, cut);
}
