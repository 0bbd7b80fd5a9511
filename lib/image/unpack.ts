// Applying one image layer (a tar stream) to a directory, the way container runtimes do —
// whiteouts (`.wh.NAME`) and opaque directories (`.wh..wh..opq`), hard links, symlinks,
// permissions and times — while treating the tar as hostile: names with `..` or an absolute
// path, writes through a symlink that leaves the root, hard links to outside, whiteouts of
// anything but a name in their directory, device nodes, oversized files and layer bombs are
// refused, and nothing is ever written outside `target`. The path rules live in unpack-tree.ts,
// the entry kinds in unpack-entries.ts.
import { utimesSync } from 'node:fs';
import { Readable } from 'node:stream';
import * as tar from 'tar-stream';

import { SidebundleError } from '../errors';
import { applyEntry, type LayerContext, type LayerStats, type UnpackLimits } from './unpack-entries';
import { layerTree } from './unpack-tree';

export type { LayerStats, UnpackLimits } from './unpack-entries';

export const DEFAULT_LIMITS: UnpackLimits = {
  maxFileBytes: 8 * 1024 ** 3,
  maxTotalBytes: 64 * 1024 ** 3,
  maxEntries: 2_000_000,
};

export interface ApplyOptions {
  limits?: Partial<UnpackLimits>;
  /** Interpret .wh. entries (image layers); off for a flat export of a container. */
  whiteouts?: boolean;
  /** Names the layer in errors. */
  label: string;
  signal?: AbortSignal;
}

/**
 * Apply a layer's (decompressed) tar onto `target`. The caller hands over bytes it has already
 * verified: this function trusts no name in them, but does not check their digest.
 */
export async function applyLayer(source: Readable, target: string, options: ApplyOptions): Promise<LayerStats> {
  const refuse = (entry: string, why: string) =>
    new SidebundleError('IMAGE_LAYER_UNSAFE', `${options.label}: refused the entry ${JSON.stringify(entry)}: ${why}`, {
      input: options.label,
      hint: 'the image is malformed or malicious; nothing was written outside the unpack directory',
    });
  const layer: LayerContext = {
    tree: layerTree(target, refuse),
    refuse,
    limits: { ...DEFAULT_LIMITS, ...options.limits },
    stats: { entries: 0, bytes: 0, skipped: [] },
    whiteouts: options.whiteouts !== false,
    label: options.label,
    dirTimes: [],
  };
  const extract = tar.extract();
  extract.on('entry', (header, stream, next) => {
    // The entry stream is destroyed along with the extractor on a failure; that failure is
    // reported once, by the extractor.
    stream.on('error', () => undefined);
    const done = (error?: unknown) => {
      stream.resume(); // whatever the entry did not read
      if (error) next(error as Error);
      else next();
    };
    (async () => {
      options.signal?.throwIfAborted();
      if (++layer.stats.entries > layer.limits.maxEntries) {
        throw new SidebundleError('IMAGE_LAYER_TOO_LARGE', `${options.label} has more than ${layer.limits.maxEntries} entries`, {
          input: options.label,
          hint: 'the layer looks like a tar bomb; it was not unpacked',
        });
      }
      await applyEntry(layer, header, stream as unknown as Readable);
    })().then(() => done(), done);
  });
  await feed(source, extract);
  // Directory times last: creating entries in them changed them.
  for (const [dir, time] of layer.dirTimes.reverse()) {
    try {
      utimesSync(dir, time, time);
    } catch {
      // removed by a later whiteout in the same layer
    }
  }
  return layer.stats;
}

async function* withTrailer(source: Readable): AsyncGenerator<Buffer> {
  let length = 0;
  for await (const chunk of source) {
    length += (chunk as Buffer).length;
    yield chunk as Buffer;
  }
  yield Buffer.alloc(((512 - (length % 512)) % 512) + 1024);
}

/**
 * Some writers (umoci 0.4) end a layer without padding its last block or writing the two zero
 * blocks of the end-of-archive marker; Go's reader tolerates that, so we do too by appending
 * them. Wired by hand rather than with stream.pipeline: tar-stream's streams are streamx
 * streams, whose errors Node's pipeline does not always catch.
 */
function feed(source: Readable, extract: tar.Extract): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let failed = false;
    const input = Readable.from(withTrailer(source));
    const fail = (error: unknown) => {
      if (failed) return;
      failed = true;
      input.destroy();
      source.destroy(); // stops a decompressor (and the zstd process) feeding nobody
      reject(error);
    };
    extract.on('error', fail);
    extract.on('finish', () => (failed ? undefined : resolve()));
    input.on('error', (error) => {
      extract.destroy(error);
      fail(error);
    });
    source.on('error', fail);
    input.pipe(extract as unknown as NodeJS.WritableStream);
  });
}
