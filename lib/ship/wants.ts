// Whether an image is asked for: a light module, so a bundle without one never loads the image
// code (emit.ts: tar-stream, the registry client).
import type { EmitImageOptions } from './emit';

export function wantsImage(options: EmitImageOptions): boolean {
  return options.ociDir !== undefined || options.ociArchive !== undefined || options.push !== undefined;
}
