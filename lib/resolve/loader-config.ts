// What a root's dynamic loader was built with: its system search directories, and the values
// of the $LIB and $PLATFORM tokens. glibc compiles the system directories into ld.so as one
// string literal preceded by an array of their lengths (elf/dl-load.c: system_dirs and
// system_dirs_len); finding that pair in the loader file reproduces the search path of that
// exact glibc build (Debian's multiarch dirs, Fedora's lib64) instead of guessing it.
import { readFileSync } from 'node:fs';

import type { RootFs } from './rootfs';

export interface LoaderConfig {
  /** System search directories in the loader's order (without trailing slashes). */
  systemDirs: string[];
  /** Expansion of $LIB. */
  lib: string;
  /** Expansion of $PLATFORM (AT_PLATFORM on x86-64). */
  platform: string;
  /** True when the directories came from the loader file, false for the fallback. */
  exact: boolean;
}

/** Used when the loader file cannot be read or parsed: the union of common glibc layouts. */
const FALLBACK_DIRS = ['/lib/x86_64-linux-gnu', '/usr/lib/x86_64-linux-gnu', '/lib64', '/usr/lib64', '/lib', '/usr/lib'];

/** Where a directory name of system_dirs meets the next one: its closing '/', NUL, the next '/'. */
const BETWEEN_DIRS = Buffer.from('/\0/', 'latin1');
const SLASH = 0x2f;

/**
 * Find system_dirs in a glibc ld.so image; undefined when the pattern is not there. The pattern
 * is a run of at least two NUL-terminated absolute directory names ending in '/' (printable
 * characters, no spaces): what /(?:\/[\x21-\x7e]*\/\0){2,}/g finds in the image read as latin1,
 * taken in the order that regular expression finds them, each kept if the lengths array precedes it.
 * Found with Buffer#indexOf rather than that expression: converting a 200 KB loader to a string
 * and scanning all of it cost more than the rest of reading the loader.
 */
export function findSystemDirs(image: Buffer): string[] | undefined {
  for (let from = 0; ; ) {
    const run = nextDirRun(image, from);
    if (run === undefined) return undefined;
    const lengthsAt = run.start - run.dirs.length * 8;
    if (lengthsAt >= 0 && run.dirs.every((dir, i) => image.readUInt32LE(lengthsAt + i * 8) === dir.length && image.readUInt32LE(lengthsAt + i * 8 + 4) === 0)) {
      return run.dirs.map((d) => (d.length > 1 ? d.replace(/\/+$/, '') : d));
    }
    from = run.end;
  }
}

/** The first run (as the expression above matches it) starting at or after `from`. */
function nextDirRun(image: Buffer, from: number): { start: number; end: number; dirs: string[] } | undefined {
  for (let join = image.indexOf(BETWEEN_DIRS, from); join !== -1; join = image.indexOf(BETWEEN_DIRS, join + 1)) {
    // The first name ends at `join`; it starts at the first '/' of the printable bytes before.
    let start = join;
    while (start > from && isNameByte(image[start - 1]!)) start--;
    while (start < join && image[start] !== SLASH) start++;
    if (start === join) continue;
    const dirs = [image.toString('latin1', start, join + 1)];
    let end = join + 2;
    for (let next = nameEnd(image, end); next !== -1; next = nameEnd(image, end)) {
      dirs.push(image.toString('latin1', end, next - 1));
      end = next;
    }
    // With one name only, no start between `start` and `join` matches either (same first name).
    if (dirs.length >= 2) return { start, end, dirs };
  }
  return undefined;
}

/** The end (past its NUL) of a '/'...'/' NUL name starting at `at`, or -1. */
function nameEnd(image: Buffer, at: number): number {
  if (image[at] !== SLASH) return -1;
  let nul = at + 1;
  while (nul < image.length && isNameByte(image[nul]!)) nul++;
  return nul < image.length && image[nul] === 0 && nul - 1 > at && image[nul - 1] === SLASH ? nul + 1 : -1;
}

function isNameByte(byte: number): boolean {
  return byte >= 0x21 && byte <= 0x7e;
}

/** The loader configuration of the ld.so at `loaderPath` (canonical, logical) inside `fs`. */
export function loaderConfig(fs: RootFs, loaderPath: string | undefined): LoaderConfig {
  let dirs: string[] | undefined;
  if (loaderPath !== undefined) {
    try {
      dirs = findSystemDirs(readFileSync(fs.hostPath(loaderPath)));
    } catch {
      dirs = undefined;
    }
  }
  const systemDirs = dirs ?? FALLBACK_DIRS;
  // glibc's $LIB is its slibdir relative to /: the first system directory on every layout.
  const lib = systemDirs[0]?.replace(/^\//, '') ?? 'lib64';
  return { systemDirs, lib, platform: 'x86_64', exact: dirs !== undefined };
}
