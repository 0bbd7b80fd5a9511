// The directory a layer is applied to, seen through the layer's names: a tar name becomes a host
// path only by walking it part by part from the root, following symlinks that stay inside and
// refusing everything that would leave (`..`, absolute names, links out of the root).
import { lstatSync, mkdirSync, readlinkSync, rmSync, unlinkSync, type Stats } from 'node:fs';
import * as path from 'node:path';

import type { SidebundleError } from '../errors';

const MAX_SYMLINK_HOPS = 40;
/** Linux's NAME_MAX: a longer name fails with ENAMETOOLONG halfway through a layer. */
const MAX_NAME_BYTES = 255;

/** Builds the error for a refused entry: (entry name, why) → IMAGE_LAYER_UNSAFE. */
export type Refuse = (entry: string, why: string) => SidebundleError;

export interface LayerTree {
  readonly root: string;
  /** Paths this layer created (an opaque directory keeps them, drops the rest). */
  readonly createdHere: Set<string>;
  /** The logical parts of a tar name, or an error for names that leave the root. */
  partsOf(name: string): string[];
  /** Host path of the directory `parts`; missing directories are created when `create`. */
  place(parts: string[], entry: string, create: boolean): string;
  /** Unlink whatever is at `at` (a directory with its contents); never writes through it. */
  removeExisting(at: string): void;
  /** Remove `at` recursively, if it is there. */
  remove(at: string): void;
}

function lstatOrUndefined(at: string): Stats | undefined {
  try {
    return lstatSync(at);
  } catch {
    return undefined;
  }
}

export function layerTree(target: string, refuse: Refuse): LayerTree {
  const root = path.resolve(target);
  const createdHere = new Set<string>();
  // Directories already checked in this layer (safe: nothing turns them into links meanwhile,
  // and the cache is dropped whenever something is removed).
  const checked = new Map<string, string>();

  const walk = (parts: string[], entry: string, create: boolean): string => {
    let current = root;
    const todo = [...parts];
    let hops = 0;
    while (todo.length > 0) {
      const part = todo.shift()!;
      const next = path.join(current, part);
      const st = lstatOrUndefined(next);
      if (st === undefined) {
        if (!create) throw refuse(entry, `${path.relative(root, next)} does not exist`);
        mkdirSync(next, { mode: 0o755 });
        createdHere.add(next);
      } else if (st.isSymbolicLink()) {
        const linkTarget = readlinkSync(next);
        const resolved = path.resolve(current, linkTarget);
        if (path.isAbsolute(linkTarget) || (resolved !== root && !resolved.startsWith(`${root}/`))) {
          throw refuse(entry, `it would be written through the symlink ${path.relative(root, next)} -> ${linkTarget}, which leaves the image`);
        }
        if (++hops > MAX_SYMLINK_HOPS) throw refuse(entry, 'too many symlinks on the way');
        todo.unshift(...path.relative(root, resolved).split('/').filter(Boolean));
        current = root;
        continue;
      } else if (!st.isDirectory()) {
        if (!create) throw refuse(entry, `${path.relative(root, next)} is not a directory`);
        rmSync(next, { force: true });
        mkdirSync(next, { mode: 0o755 });
        createdHere.add(next);
      }
      current = next;
    }
    return current;
  };

  return {
    root,
    createdHere,
    partsOf(name) {
      // The root itself may be spelled "/" (umoci writes it so); any other absolute name is refused.
      if (name.startsWith('/') && name.replace(/\/+$/, '') !== '') throw refuse(name, 'it is an absolute path');
      const parts = name.split('/').filter((p) => p !== '' && p !== '.');
      if (parts.includes('..')) throw refuse(name, 'it contains ".."');
      const long = parts.find((p) => Buffer.byteLength(p) > MAX_NAME_BYTES);
      if (long) throw refuse(name, `a name in it is ${Buffer.byteLength(long)} bytes long, over the ${MAX_NAME_BYTES} a Linux file system allows`);
      return parts;
    },
    place(parts, entry, create) {
      const key = parts.join('/');
      const known = checked.get(key);
      if (known !== undefined) return known;
      const resolvedDir = walk(parts, entry, create);
      checked.set(key, resolvedDir);
      return resolvedDir;
    },
    removeExisting(at) {
      const st = lstatOrUndefined(at);
      if (st === undefined) return;
      if (st.isDirectory()) {
        rmSync(at, { recursive: true, force: true });
        checked.clear();
      } else {
        unlinkSync(at);
        if (st.isSymbolicLink()) checked.clear();
      }
    },
    remove(at) {
      rmSync(at, { recursive: true, force: true });
      checked.clear();
    },
  };
}
