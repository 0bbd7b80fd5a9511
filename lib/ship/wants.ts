// Whether an image is asked for, and whether what it asks can be done, before any bundle is
// published: a light module, so a bundle without one never loads the image code (emit.ts:
// tar-stream, the registry client).
import { readdirSync, statSync } from 'node:fs';
import * as path from 'node:path';

import { SidebundleError } from '../errors';
import { readRegularFile } from '../util/regular-file';
import type { EmitImageOptions } from './emit';

export function wantsImage(options: EmitImageOptions): boolean {
  return options.ociDir !== undefined || options.ociArchive !== undefined || options.push !== undefined;
}

/**
 * Refuse an image request that is bound to fail, before the bundle replaces the previous one
 * (the image is made of the published bundle): an --oci-entry that names no entry, an archive
 * path that is a directory, a layout path that is a file or a directory that is not a layout,
 * and a path below a file.
 * `entries`: the names the bundle's launchers will have.
 */
export function checkImageRequest(options: EmitImageOptions, entries: string[]): void {
  if (!wantsImage(options)) return;
  const bad = (message: string, input: string, hint: string) => new SidebundleError('BAD_OPTION', message, { input, kind: 'input', hint: `${hint}; nothing was published` });
  if (options.entry !== undefined && !entries.includes(options.entry)) {
    throw bad(`--oci-entry ${options.entry} is not an entry of this bundle`, options.entry, `entries: ${entries.join(', ') || 'none'}`);
  }
  const kind = (p: string) => {
    try {
      return statSync(p).isDirectory() ? 'directory' : 'file';
    } catch (error) {
      // ENOTDIR: a file above it; blocked() names that file.
      return ['ENOENT', 'ENOTDIR'].includes((error as NodeJS.ErrnoException).code ?? '') ? 'absent' : 'unusable';
    }
  };
  // Directories that are not there yet are made (as --out-dir's are); one above that is a file is not.
  const blocked = (p: string) => {
    let at = path.dirname(p);
    while (kind(at) === 'absent' && path.dirname(at) !== at) at = path.dirname(at);
    return kind(at) === 'file' ? at : undefined;
  };
  if (options.ociArchive !== undefined) {
    if (kind(options.ociArchive) === 'directory') throw bad(`--emit-oci-archive ${options.ociArchive} is a directory`, options.ociArchive, 'give the path of the .tar file to write');
    const file = blocked(options.ociArchive);
    if (file !== undefined) throw bad(`--emit-oci-archive ${options.ociArchive}: ${file} is not a directory`, options.ociArchive, 'give a path whose directories are directories');
  }
  if (options.ociDir !== undefined) {
    const found = kind(options.ociDir);
    const file = found === 'absent' ? blocked(options.ociDir) : undefined;
    if (!['directory', 'absent'].includes(found) || file !== undefined) {
      throw bad(`--emit-oci ${options.ociDir} ${file === undefined ? 'exists and is not a directory' : `cannot be made: ${file} is not a directory`}`, options.ociDir, 'give a new directory, or an OCI image layout to add the image to');
    }
    if (found === 'directory') layoutIndex(options.ociDir);
  }
}

/** A descriptor of an OCI image index (only what adding an image to one needs). */
export interface IndexDescriptor {
  annotations?: Record<string, string>;
  [key: string]: unknown;
}

/**
 * The manifests an existing --emit-oci directory lists, which the new image joins (one with the
 * same tag is replaced, as `skopeo copy` into a layout does): [] for an empty directory.
 * A directory that holds other things and is no OCI image layout, or whose index.json is not an
 * image index, is refused: writing blobs/ and a new index.json into it would lose what it lists.
 */
export function layoutIndex(dir: string): IndexDescriptor[] {
  const refuse = (why: string) =>
    new SidebundleError('BAD_OPTION', `--emit-oci ${dir} ${why}`, { input: dir, kind: 'input', hint: 'give a new or empty directory, or an OCI image layout (skopeo copy ... oci:DIR) to add the image to; nothing was published' });
  const names = readdirSync(dir);
  if (names.length === 0) return [];
  if (!names.includes('oci-layout')) throw refuse('is a directory that holds other files and is no OCI image layout (no oci-layout file)');
  let index: unknown;
  try {
    index = names.includes('index.json') ? JSON.parse(readRegularFile(path.join(dir, 'index.json'))) : { manifests: [] };
  } catch (error) {
    throw refuse(`has an index.json that cannot be read (${(error as Error).message})`);
  }
  const manifests = (index as { manifests?: unknown } | null)?.manifests;
  if (!Array.isArray(manifests) || manifests.some((d) => typeof d !== 'object' || d === null)) throw refuse('has an index.json that is not an OCI image index (no manifests list)');
  return manifests as IndexDescriptor[];
}
