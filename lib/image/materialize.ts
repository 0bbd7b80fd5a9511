// An image reference → an unpacked, verified rootfs directory in the image cache (plus the
// image's digest and config). Engine-free sources apply their layers into snapshots; engine
// sources export the container filesystem. Data in, data out; what the rootfs is used for
// (resolving, tracing, bundling) is the caller's business.
import type { Readable } from 'node:stream';

import { SidebundleError } from '../errors';
import { openDockerArchive, openOciArchive, openOciLayout, type OpenedImage } from './archives';
import { decompressed, type VerifiedBlob } from './blob';
import { exportImage, inspectImage, pickEngine } from './engine';
import { resolveManifest, type Descriptor, type ImageConfig } from './manifest';
import { describeSource, parseImageReference, type ImageSource } from './reference';
import { RegistryClient, type RegistryOptions } from './registry';
import { ImageStore } from './store';
import { imageLimits, type ImageLimits } from './limits';
import { applyLayer } from './unpack';

export interface MaterializeOptions {
  store?: ImageStore;
  /** Engine command line for docker:// and podman:// sources (--image-agent-cli). */
  engineCli?: string;
  /** Engine for bare references: auto (docker, then podman), docker or podman. */
  engine?: 'auto' | 'docker' | 'podman';
  registry?: RegistryOptions;
  /** Over the defaults and SIDEBUNDLE_IMAGE_LIMITS (see limits.ts). */
  limits?: Partial<ImageLimits>;
  signal?: AbortSignal;
  onProgress?: (message: string) => void;
}

export interface MaterializedImage {
  /** The reference as given. */
  reference: string;
  /** What identifies the content: the manifest digest, or the engine's image id. */
  digest: string;
  /** Unpacked root filesystem (in the cache: do not modify). */
  rootfs: string;
  config: ImageConfig;
  layers: Array<{ digest: string; size: number; mediaType: string }>;
}

export async function materializeImage(reference: string, options: MaterializeOptions = {}): Promise<MaterializedImage> {
  const source = parseImageReference(reference);
  const store = options.store ?? new ImageStore();
  store.cleanup();
  const progress = options.onProgress ?? (() => undefined);
  if (source.kind === 'engine') return fromEngine(reference, source, store, options);
  const limits = imageLimits(options.limits);
  const opened = await open(source, store, options);
  let imageBytes = 0; // unpacked by the layers applied so far in this run
  const rootfs = await store.snapshot(opened.layerIds, async (i, dir) => {
    options.signal?.throwIfAborted();
    progress(`unpacking layer ${i + 1}/${opened.layerIds.length} of ${opened.label}`);
    const blob = await opened.openLayer(i); // verified whole: nothing is applied from a corrupt layer
    const stream = await decompressed(blob.stream, `${opened.label} layer ${i + 1}`);
    const stats = await applyLayer(stream, dir, {
      label: `${opened.label} layer ${i + 1} (${opened.layerIds[i]})`,
      limits,
      compressedBytes: blob.bytes,
      imageBytesBefore: imageBytes,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    imageBytes += stats.bytes;
  }, (i, cached) => cached && progress(`layer ${i + 1}/${opened.layerIds.length} of ${opened.label} is cached`));
  return {
    reference,
    digest: opened.image.manifestDigest,
    rootfs,
    config: opened.image.config,
    layers: opened.image.layers.map((l) => ({ digest: l.digest, size: l.size, mediaType: l.mediaType })),
  };
}

async function open(source: Exclude<ImageSource, { kind: 'engine' }>, store: ImageStore, options: MaterializeOptions): Promise<OpenedImage> {
  switch (source.kind) {
    case 'oci':
      return openOciLayout(source.dir, source.ref);
    case 'oci-archive':
      return openOciArchive(source.file, source.ref, store);
    case 'docker-archive':
      return openDockerArchive(source.file, source.ref, store);
    case 'registry': {
      const client = new RegistryClient(source.registry, source.repository, { ...options.registry, ...(options.signal ? { signal: options.signal } : {}) });
      const label = describeSource(source);
      const top = await client.manifest(source.digest ?? source.tag!);
      const documents = new Map<string, Buffer>([[top.descriptor.digest, top.bytes]]);
      const read = async (d: Descriptor): Promise<Buffer> => {
        const known = documents.get(d.digest);
        if (known) return known;
        if (d.mediaType.includes('manifest') || d.mediaType.includes('index')) {
          const m = await client.manifest(d.digest);
          return m.bytes;
        }
        // Configs are blobs: kept in the store like layers (verified there).
        if (!store.hasBlob(d.digest)) await store.putBlob(d.digest, d.size, await client.blob(d), `${label} ${d.digest}`);
        const chunks: Buffer[] = [];
        for await (const c of (await store.openBlob(d.digest, d.size, `${label} ${d.digest}`)).stream) chunks.push(c as Buffer);
        return Buffer.concat(chunks);
      };
      const image = await resolveManifest(top.descriptor, read, label);
      return {
        image,
        label,
        layerIds: image.layers.map((l) => l.digest),
        openLayer: async (i): Promise<VerifiedBlob> => {
          const d = image.layers[i]!;
          if (!store.hasBlob(d.digest)) {
            options.onProgress?.(`downloading layer ${i + 1}/${image.layers.length} (${(d.size / 1048576).toFixed(1)} MiB) of ${label}`);
            await store.putBlob(d.digest, d.size, await client.blob(d), `${label} layer ${d.digest}`);
          }
          return store.openBlob(d.digest, d.size, `${label} layer ${d.digest}`);
        },
      };
    }
  }
}

async function fromEngine(reference: string, source: Extract<ImageSource, { kind: 'engine' }>, store: ImageStore, options: MaterializeOptions): Promise<MaterializedImage> {
  const engine = await pickEngine(source.engine === 'auto' ? options.engine ?? 'auto' : source.engine, options.engineCli);
  const image = await inspectImage(engine, source.image, options.signal);
  const limits = imageLimits(options.limits);
  const rootfs = await store.snapshot([`engine-export ${image.id}`], async (_i, dir) => {
    options.onProgress?.(`exporting ${source.image} from ${engine.name}`);
    await exportImage(engine, source.image, async (tar) => {
      // The export is the whole image in one tar: the image limit is its layer limit.
      await applyLayer(tar as unknown as Readable, dir, { label: `${engine.name} export of ${source.image}`, whiteouts: false, limits: { ...limits, maxLayerBytes: limits.maxImageBytes } });
    }, options.signal);
  });
  if (!rootfs) throw new SidebundleError('IMAGE_ENGINE_FAILED', `exporting ${source.image} produced nothing`, { input: reference });
  return { reference, digest: image.id, rootfs, config: image.config, layers: [] };
}

/**
 * What identifies the image a reference names right now, without unpacking it: the manifest
 * digest (OCI layouts, registries), the engine's image id, or, for archives, null (the caller
 * fingerprints the archive file itself, which is cheaper than scanning it).
 */
export async function imageIdentity(reference: string, options: Pick<MaterializeOptions, 'engine' | 'engineCli' | 'registry' | 'signal'> = {}): Promise<string | null> {
  const source = parseImageReference(reference);
  switch (source.kind) {
    case 'oci':
      return (await openOciLayout(source.dir, source.ref)).image.manifestDigest;
    case 'oci-archive':
    case 'docker-archive':
      return null;
    case 'registry': {
      const client = new RegistryClient(source.registry, source.repository, { ...options.registry, ...(options.signal ? { signal: options.signal } : {}) });
      return (await client.manifest(source.digest ?? source.tag!)).descriptor.digest;
    }
    case 'engine': {
      const engine = await pickEngine(source.engine === 'auto' ? options.engine ?? 'auto' : source.engine, options.engineCli);
      return (await inspectImage(engine, source.image, options.signal)).id;
    }
  }
}
