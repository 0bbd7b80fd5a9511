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

/** Find system_dirs in a glibc ld.so image; undefined when the pattern is not there. */
export function findSystemDirs(image: Buffer): string[] | undefined {
  const text = image.toString('latin1');
  // A run of at least two NUL-terminated absolute directory names ending in '/'.
  const pattern = /(?:\/[\x21-\x7e]*\/\0){2,}/g;
  for (let match = pattern.exec(text); match !== null; match = pattern.exec(text)) {
    const dirs = match[0].split('\0').filter((d) => d.length > 0);
    const lengthsAt = match.index - dirs.length * 8;
    if (lengthsAt < 0) continue;
    const lengthsMatch = dirs.every((dir, i) => image.readBigUInt64LE(lengthsAt + i * 8) === BigInt(dir.length));
    if (lengthsMatch) return dirs.map((d) => (d.length > 1 ? d.replace(/\/+$/, '') : d));
  }
  return undefined;
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
