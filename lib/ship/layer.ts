// The one layer of an image out of a bundle, written as a stream: tar-stream → sha256 of the tar
// (the diff_id) → gzip → sha256 and byte count of the blob → the file. Never a whole layer (or a
// whole file) in memory. Deterministic: entries in sorted order, mtime 0, uid/gid 0 without
// names, permission bits kept, hard links (payload ↔ data/) written once and linked after.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, lstatSync, readdirSync, readlinkSync, type Stats } from 'node:fs';
import * as path from 'node:path';
import { PassThrough, Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import * as tar from 'tar-stream';

/** Where the bundle directory itself sits in the image (launchers, runtime, manifest.lock). */
export const BUNDLE_MOUNT = 'sidebundle';

export interface LayerSource {
  /** Tar path prefix ('' for the root file system). */
  prefix: string;
  /** Host directory whose contents go there. */
  dir: string;
  /** Top-level names of `dir` to leave out. */
  skip?: string[];
}

export interface WrittenLayer {
  /** sha256 of the gzip blob. */
  digest: string;
  size: number;
  /** sha256 of the uncompressed tar (the config's rootfs.diff_ids). */
  diffId: string;
}

const EPOCH = new Date(0);

/** Every entry below `dir`, sorted by tar path, with its lstat (directories before contents). */
function* walk(dir: string, prefix: string, skip: Set<string>, rel = ''): Generator<[string, string, Stats]> {
  for (const name of readdirSync(path.join(dir, rel)).sort()) {
    if (rel === '' && skip.has(name)) continue;
    const at = rel ? `${rel}/${name}` : name;
    const host = path.join(dir, at);
    const st = lstatSync(host);
    const tarPath = prefix ? `${prefix}/${at}` : at;
    yield [tarPath, host, st];
    if (st.isDirectory()) yield* walk(dir, prefix, skip, at);
  }
}

function hashing(hash: ReturnType<typeof createHash>, count?: { bytes: number }): Transform {
  return new Transform({
    transform(chunk: Buffer, _e, callback) {
      hash.update(chunk);
      if (count) count.bytes += chunk.length;
      callback(null, chunk);
    },
  });
}

/** Feed the entries of `sources` (in order) into `pack`, file contents streamed from disk; an
 * aborted `signal` ends it between two entries, or inside a file's. */
async function fill(pack: tar.Pack, sources: LayerSource[], extra: Array<{ name: string; type: 'directory' | 'symlink'; linkname?: string }>, signal?: AbortSignal): Promise<void> {
  const seen = new Map<string, string>(); // dev:ino → first tar path
  const base = { uid: 0, gid: 0, uname: '', gname: '', mtime: EPOCH };
  const entry = (header: Parameters<tar.Pack['entry']>[0], content?: string) =>
    new Promise<void>((resolve, reject) => pack.entry(header, content ?? '', (error) => (error ? reject(error) : resolve())));
  for (const e of extra) await entry({ ...base, name: e.name, type: e.type, mode: e.type === 'directory' ? 0o755 : 0o777, ...(e.linkname ? { linkname: e.linkname } : {}) });
  for (const source of sources) {
    for (const [name, host, st] of walk(source.dir, source.prefix, new Set(source.skip ?? []))) {
      signal?.throwIfAborted();
      const mode = st.mode & 0o777;
      if (st.isDirectory()) await entry({ ...base, name, type: 'directory', mode });
      else if (st.isSymbolicLink()) await entry({ ...base, name, type: 'symlink', linkname: readlinkSync(host), mode: 0o777 });
      else if (st.isFile()) {
        const key = `${st.dev}:${st.ino}`;
        const first = seen.get(key);
        if (first !== undefined) {
          await entry({ ...base, name, type: 'link', linkname: first, mode });
          continue;
        }
        seen.set(key, name);
        const sink = pack.entry({ ...base, name, type: 'file', mode, size: st.size });
        await pipeline(createReadStream(host), sink as unknown as Writable, ...(signal ? [{ signal }] : []));
      }
    }
  }
  pack.finalize();
}

/** Write the layer of `sources` as a gzip blob to `file`; an aborted `signal` (Ctrl+C) ends the
 * write at once, with the signal's reason, instead of once a layer of any size is written. */
export async function writeLayer(file: string, sources: LayerSource[], extra: Array<{ name: string; type: 'directory' | 'symlink'; linkname?: string }> = [], signal?: AbortSignal): Promise<WrittenLayer> {
  const pack = tar.pack();
  const tarHash = createHash('sha256');
  const blobHash = createHash('sha256');
  const count = { bytes: 0 };
  const filling = fill(pack, sources, extra, signal).catch((error: unknown) => {
    pack.destroy(error as Error);
    throw error;
  });
  // gzip at a fixed level with zlib's fixed header (mtime 0): same tar, same blob.
  await Promise.all([
    filling,
    pipeline(pack as unknown as NodeJS.ReadableStream, hashing(tarHash), createGzip({ level: 6 }), hashing(blobHash, count), new PassThrough(), createWriteStream(file, { mode: 0o644 }), ...(signal ? [{ signal }] : [])),
  ]);
  return { digest: `sha256:${blobHash.digest('hex')}`, size: count.bytes, diffId: `sha256:${tarHash.digest('hex')}` };
}
