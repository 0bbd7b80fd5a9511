// Whether an image is asked for, and whether what it asks can be done, before any bundle is
// published: a light module, so a bundle without one never loads the image code (emit.ts:
// tar-stream, the registry client).
import { lstatSync, readdirSync, statSync } from 'node:fs';
import * as path from 'node:path';

import { SidebundleError } from '../errors';
import { physicalPath, within } from '../util/physical-path';
import { readRegularFile } from '../util/regular-file';
import type { EmitImageOptions } from './emit';

export function wantsImage(options: EmitImageOptions): boolean {
  return options.ociDir !== undefined || options.ociArchive !== undefined || options.push !== undefined;
}

/** Where the bundle is being published: image outputs may not lie there. */
export interface BundlePaths {
  dir: string;
  run: string;
}

/**
 * Refuse an image request that is bound to fail or to do harm, before the bundle replaces the
 * previous one: an --oci-entry that names no entry; an output path that is the bundle, its .run
 * or inside the bundle (publishing would remove it; a layer would take itself in); an archive
 * path that holds anything but a regular file (a device, a FIFO: /dev/null must stay a device);
 * a layout path that is a file, a dangling link, or a directory that is no OCI image layout;
 * and a path below a file. `entries`: the names the bundle's launchers will have.
 */
export function checkImageRequest(options: EmitImageOptions, entries: string[], bundle: BundlePaths): void {
  if (!wantsImage(options)) return;
  const bad = (message: string, input: string, hint: string) => new SidebundleError('BAD_OPTION', message, { input, kind: 'input', hint: `${hint}; nothing was published` });
  if (options.entry !== undefined && !entries.includes(options.entry)) {
    throw bad(`--oci-entry ${options.entry} is not an entry of this bundle`, options.entry, `entries: ${entries.join(', ') || 'none'}`);
  }
  // Directories that are not there yet are made (as --out-dir's are); one above that is a file is not.
  const blocked = (p: string) => {
    let at = path.dirname(p);
    while (kindOfPath(at) === 'absent' && path.dirname(at) !== at) at = path.dirname(at);
    const found = kindOfPath(at);
    return found === 'file' || found === 'special' || found === 'dangling' ? at : undefined;
  };
  for (const [flag, p] of [['--emit-oci-archive', options.ociArchive], ['--emit-oci', options.ociDir]] as const) {
    if (p === undefined) continue;
    if (within(p, bundle.dir) || physicalPath(p) === physicalPath(bundle.run)) {
      throw bad(`${flag} ${p} is the bundle ${bundle.dir}, its single file or inside it`, p, 'a bundle is replaced whole when it is published, and never holds its own image: give a path outside it');
    }
  }
  if (options.ociArchive !== undefined) {
    const found = kindOfPath(options.ociArchive);
    if (found === 'directory') throw bad(`--emit-oci-archive ${options.ociArchive} is a directory`, options.ociArchive, 'give the path of the .tar file to write');
    if (found === 'special' || found === 'dangling') throw bad(`--emit-oci-archive ${options.ociArchive} is ${found === 'special' ? 'a device, FIFO or socket' : 'a dangling symbolic link'}, not a file to replace`, options.ociArchive, 'give the path of a new .tar file, or of a regular file to replace');
    const file = blocked(options.ociArchive);
    if (file !== undefined) throw bad(`--emit-oci-archive ${options.ociArchive}: ${file} is not a directory`, options.ociArchive, 'give a path whose directories are directories');
  }
  if (options.ociDir !== undefined) {
    const found = kindOfPath(options.ociDir);
    const file = found === 'absent' ? blocked(options.ociDir) : undefined;
    if (!['directory', 'absent'].includes(found) || file !== undefined) {
      const why = file !== undefined ? `cannot be made: ${file} is not a directory` : found === 'dangling' ? 'is a dangling symbolic link' : 'exists and is not a directory';
      throw bad(`--emit-oci ${options.ociDir} ${why}`, options.ociDir, 'give a new directory, or an OCI image layout to add the image to');
    }
    if (found === 'directory') layoutIndex(options.ociDir);
  }
}

/** What is at `p`, following links: absent (or below a file), a dangling link, a directory, a
 * regular file, something special (device, FIFO, socket), or unusable (no permission). */
function kindOfPath(p: string): 'absent' | 'dangling' | 'directory' | 'file' | 'special' | 'unusable' {
  try {
    const st = statSync(p);
    return st.isDirectory() ? 'directory' : st.isFile() ? 'file' : 'special';
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    if (code === 'ENOENT') return lstatSync(p, { throwIfNoEntry: false })?.isSymbolicLink() ? 'dangling' : 'absent';
    return code === 'ENOTDIR' ? 'absent' : 'unusable'; // ENOTDIR: a file above it, which blocked() names
  }
}

/** An OCI image index, as much as adding an image to one needs; other fields are kept. */
export interface LayoutIndex {
  manifests: IndexDescriptor[];
  [key: string]: unknown;
}

/** A descriptor of an OCI image index (only what adding an image to one needs). */
export interface IndexDescriptor {
  annotations?: Record<string, string>;
  [key: string]: unknown;
}

/**
 * The index of an existing --emit-oci directory, which the new image joins (one with the same
 * tag is replaced, as `skopeo copy` into a layout does); an empty index for an empty directory.
 * A directory that holds other files and is no OCI image layout, whose oci-layout is not version
 * 1.0.0, whose index.json is not an image index, or whose oci-layout, index.json, blobs or
 * blobs/sha256 is a symbolic link (a write would land outside the layout) is refused.
 */
export function layoutIndex(dir: string): LayoutIndex {
  const refuse = (why: string) =>
    new SidebundleError('BAD_OPTION', `--emit-oci ${dir} ${why}`, { input: dir, kind: 'input', hint: 'give a new or empty directory, or an OCI image layout (skopeo copy ... oci:DIR) to add the image to; nothing was published' });
  const names = readdirSync(dir);
  if (names.length === 0) return { manifests: [] };
  if (!names.includes('oci-layout')) throw refuse('is a directory that holds other files and is no OCI image layout (no oci-layout file)');
  for (const [name, want] of [['oci-layout', 'file'], ['index.json', 'file'], ['blobs', 'directory'], ['blobs/sha256', 'directory']] as const) {
    const st = lstatSync(path.join(dir, name), { throwIfNoEntry: false });
    if (st === undefined) continue;
    if (st.isSymbolicLink()) throw refuse(`has ${name} as a symbolic link: writing through it would change what lies outside the layout`);
    if (want === 'file' ? !st.isFile() : !st.isDirectory()) throw refuse(`has ${name} that is not a ${want === 'file' ? 'regular file' : 'directory'}`);
  }
  const read = (name: string): unknown => {
    try {
      return JSON.parse(readRegularFile(path.join(dir, name)));
    } catch (error) {
      throw refuse(`has ${name} that cannot be read (${(error as Error).message})`);
    }
  };
  const version = (read('oci-layout') as { imageLayoutVersion?: unknown } | null)?.imageLayoutVersion;
  if (version !== '1.0.0') throw refuse(`has an oci-layout of version ${JSON.stringify(version)}, not 1.0.0`);
  const index = names.includes('index.json') ? read('index.json') : { schemaVersion: 2, manifests: [] };
  const manifests = (index as { manifests?: unknown } | null)?.manifests;
  if (!Array.isArray(manifests) || manifests.some((d) => typeof d !== 'object' || d === null || Array.isArray(d))) throw refuse('has an index.json that is not an OCI image index (no manifests list)');
  return index as LayoutIndex;
}
