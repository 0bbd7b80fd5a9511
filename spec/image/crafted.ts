// Hostile images built by the tests themselves: layer tars written by tar-stream (optionally
// gzipped, with big all-zero files streamed rather than held), and OCI layouts around them
// whose digests are right unless a test says otherwise.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { createGzip } from 'node:zlib';
import * as tar from 'tar-stream';

import { ImageStore } from '../../lib/image';

export type Entry = { name: string; type?: tar.Header['type']; linkname?: string; content?: string; zeros?: number };

/** A layer tarball (gzip-compressed when asked), in memory: only the compressed bytes are held. */
export async function layerBytes(entries: Entry[], options: { gzip?: boolean } = {}): Promise<Buffer> {
  const pack = tar.pack();
  const out = options.gzip ? pack.pipe(createGzip({ level: 9 })) : pack;
  const chunks: Buffer[] = [];
  const written = new Promise<void>((resolve, reject) => {
    out.on('data', (chunk: unknown) => chunks.push(chunk as Buffer));
    out.on('end', () => resolve());
    out.on('error', reject);
  });
  for (const e of entries) {
    const header = { name: e.name, type: e.type ?? 'file', ...(e.linkname ? { linkname: e.linkname } : {}), mode: 0o644 };
    if (e.zeros === undefined) {
      pack.entry(header, e.content ?? '');
      continue;
    }
    const sink = pack.entry({ ...header, size: e.zeros });
    const block = Buffer.alloc(1024 * 1024);
    for (let left = e.zeros; left > 0; left -= block.length) {
      if (!sink.write(left >= block.length ? block : block.subarray(0, left))) await new Promise<void>((r) => sink.once('drain', () => r()));
    }
    await new Promise<void>((resolve) => sink.end(resolve));
  }
  pack.finalize();
  await written;
  return Buffer.concat(chunks);
}

const digestOf = (bytes: Buffer) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/**
 * An OCI layout at `dir` with these layers (bottom first). `corrupt` names layers whose blob
 * file holds other bytes than its descriptor's digest says (the descriptor's size still fits).
 */
export function ociLayout(dir: string, layers: Buffer[], options: { corrupt?: number[] } = {}): { ref: string; layerDigests: string[] } {
  mkdirSync(path.join(dir, 'blobs', 'sha256'), { recursive: true });
  const put = (bytes: Buffer, digest = digestOf(bytes)) => {
    writeFileSync(path.join(dir, 'blobs', digest.replace(':', '/')), bytes);
    return { digest, size: bytes.length };
  };
  const layerDescriptors = layers.map((bytes, i) => {
    const digest = digestOf(bytes);
    const stored = options.corrupt?.includes(i) ? Buffer.concat([bytes.subarray(0, bytes.length - 1), Buffer.from([bytes[bytes.length - 1]! ^ 1])]) : bytes;
    return { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...put(stored, digest) };
  });
  const config = put(Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: [] } })));
  const manifest = put(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config }, layers: layerDescriptors })));
  writeFileSync(path.join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  writeFileSync(path.join(dir, 'index.json'), JSON.stringify({
    schemaVersion: 2,
    manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, annotations: { 'org.opencontainers.image.ref.name': 'evil' } }],
  }));
  return { ref: `oci:${dir}:evil`, layerDigests: layerDescriptors.map((d) => d.digest) };
}

/**
 * An image cache with canaries around it: a file beside the cache directory, and an entry in
 * its tmp/ named like a live run's (cleanup keeps it) standing for a concurrent unpack.
 * `intact()`: both canaries are there and tmp/ holds nothing else (no half-written entry left).
 * `snapshots()`: the snapshot keys kept.
 */
export function guardedStore(dir: string): { store: ImageStore; intact: () => boolean; snapshots: () => string[] } {
  const store = new ImageStore(path.join(dir, 'cache'));
  const beside = path.join(dir, 'canary');
  const concurrent = path.join(store.dir, 'tmp', `snapshot-${process.pid}-c0ffee`);
  writeFileSync(beside, 'canary');
  mkdirSync(concurrent);
  writeFileSync(path.join(concurrent, 'busy'), 'a concurrent unpack');
  return {
    store,
    intact: () => existsSync(beside) && existsSync(path.join(concurrent, 'busy')) && readdirSync(path.join(store.dir, 'tmp')).length === 1,
    snapshots: () => readdirSync(path.join(store.dir, 'snapshots')),
  };
}
