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

import { errnoCode, SidebundleError } from '../errors';
import { DEFAULT_IMAGE_LIMITS, layerAllowance, overLimit, type ImageLimits } from './limits';
import { applyEntry, type LayerContext, type LayerStats } from './unpack-entries';
import { layerTree } from './unpack-tree';

export interface ApplyOptions {
  /** Over DEFAULT_IMAGE_LIMITS (the environment is the caller's business: see imageLimits). */
  limits?: Partial<ImageLimits>;
  /** The layer's compressed size, for the ratio limit (unknown for an engine export). */
  compressedBytes?: number;
  /** What the layers below unpacked to in this run, for the image limit. */
  imageBytesBefore?: number;
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
      kind: 'input',
      hint: 'the image is malformed or malicious; nothing was written outside the unpack directory',
    });
  const limits = { ...DEFAULT_IMAGE_LIMITS, ...options.limits };
  const layer: LayerContext = {
    tree: layerTree(target, refuse),
    refuse,
    limits,
    allowance: layerAllowance(limits, options.compressedBytes, options.imageBytesBefore ?? 0),
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
      if (++layer.stats.entries > limits.maxEntries) {
        throw overLimit('maxEntries', limits, `${options.label} has more than ${limits.maxEntries} entries, over the entries limit`, options.label);
      }
      await applyEntry(layer, header, stream as unknown as Readable).catch((error: unknown) => {
        // A path longer than PATH_MAX as a whole (each name is checked by partsOf).
        if (errnoCode(error) === 'ENAMETOOLONG') throw refuse(header.name, 'its path is longer than the file system allows');
        throw error;
      });
    })().then(() => done(), done);
  });
  await feed(source, extract, layer).catch((error: unknown) => {
    if (error instanceof SidebundleError || /^E[A-Z]+$/.test(errnoCode(error) ?? '') || options.signal?.aborted) throw error;
    // tar-stream's or zlib's complaints ("Invalid tar header", Z_DATA_ERROR): not a layer.
    throw new SidebundleError('IMAGE_BAD_LAYER', `${options.label} is not a readable layer: ${(error as Error).message}`, {
      input: options.label,
      kind: 'input',
      hint: 'the image is damaged, or its layer is compressed in a way sidebundle does not read (gzip, zstd and plain tar are)',
    });
  });
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

/**
 * The tar stream, metered: past the layer's allowance it fails at once, whatever the bytes are
 * (file contents are refused earlier, by their header; this catches the rest, e.g. huge
 * extended headers or zeros after the end of the archive).
 */
async function* metered(source: Readable, layer: LayerContext): AsyncGenerator<Buffer> {
  const { stats, allowance } = layer;
  // Not for-await: leaving that loop by a throw destroys `source`, whose AbortError would then
  // race this error to the caller. feed() destroys the source itself.
  const chunks = source[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  for (;;) {
    const { value: chunk, done } = await chunks.next();
    if (done) break;
    stats.bytes += chunk.length;
    if (stats.bytes > allowance.bytes) {
      throw overLimit(allowance.limit, layer.limits, `${layer.label} unpacks to more than ${allowance.bytes} bytes, over ${allowance.why}`, layer.label);
    }
    yield chunk;
  }
  yield Buffer.alloc(((512 - (stats.bytes % 512)) % 512) + 1024);
}

/**
 * The metered stream into the extractor. Some writers (umoci 0.4) end a layer without padding its last block or writing the two zero
 * blocks of the end-of-archive marker; Go's reader tolerates that, so we do too by appending
 * them. Wired by hand rather than with stream.pipeline: tar-stream's streams are streamx
 * streams, whose errors Node's pipeline does not always catch.
 */
function feed(source: Readable, extract: tar.Extract, layer: LayerContext): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let failed = false;
    const input = Readable.from(metered(source, layer));
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
