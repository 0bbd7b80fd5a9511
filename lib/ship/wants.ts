// Whether an image is asked for, and whether what it asks can be done, before any bundle is
// published: a light module, so a bundle without one never loads the image code (emit.ts:
// tar-stream, the registry client).
import { statSync } from 'node:fs';
import * as path from 'node:path';

import { SidebundleError } from '../errors';
import type { EmitImageOptions } from './emit';

export function wantsImage(options: EmitImageOptions): boolean {
  return options.ociDir !== undefined || options.ociArchive !== undefined || options.push !== undefined;
}

/**
 * Refuse an image request that is bound to fail, before the bundle replaces the previous one
 * (the image is made of the published bundle): an --oci-entry that names no entry, an archive
 * whose directory is missing or whose path is a directory, a layout path that is a file.
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
      return (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'absent' : 'unusable';
    }
  };
  if (options.ociArchive !== undefined) {
    if (kind(options.ociArchive) === 'directory') throw bad(`--emit-oci-archive ${options.ociArchive} is a directory`, options.ociArchive, 'give the path of the .tar file to write');
    if (kind(path.dirname(options.ociArchive)) !== 'directory') throw bad(`--emit-oci-archive ${options.ociArchive}: ${path.dirname(options.ociArchive)} is not a directory`, options.ociArchive, 'create the directory first, or give a path in an existing one');
  }
  if (options.ociDir !== undefined && !['directory', 'absent'].includes(kind(options.ociDir))) {
    throw bad(`--emit-oci ${options.ociDir} exists and is not a directory`, options.ociDir, 'give a new or an existing directory for the OCI layout');
  }
}
