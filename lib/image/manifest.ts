// Image indexes and manifests (OCI and Docker v2 schema 2 media types), from whatever source:
// pick the linux/amd64 manifest of an index, then the config and the layers. Every document is
// fetched through `read`, which verifies it against its digest.
import { SidebundleError } from '../errors';
import { isDigest } from './reference';

export const MEDIA = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
};

export const ACCEPT = [MEDIA.ociIndex, MEDIA.ociManifest, MEDIA.dockerList, MEDIA.dockerManifest].join(', ');

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { os?: string; architecture?: string; variant?: string };
  annotations?: Record<string, string>;
}

export interface ImageConfig {
  env: string[];
  entrypoint?: string[];
  cmd?: string[];
  workingDir?: string;
  user?: string;
}

export interface ResolvedImage {
  manifestDigest: string;
  configDigest: string;
  config: ImageConfig;
  layers: Descriptor[];
  platform: { os: string; architecture: string };
}

/** Reads a document by descriptor, verified (digest and size). */
export type ReadDocument = (descriptor: Descriptor, what: string) => Promise<Buffer>;

export async function resolveManifest(top: Descriptor, read: ReadDocument, label: string): Promise<ResolvedImage> {
  let descriptor = top;
  let document = parse(await read(descriptor, `the manifest of ${label}`), label);
  if (isIndex(descriptor.mediaType, document)) {
    if (!Array.isArray(document.manifests)) throw badDocument(`${label}: the index's "manifests" is not an array`, label);
    const manifests = (document.manifests as unknown[]).filter((m): m is Descriptor => typeof m === 'object' && m !== null);
    const chosen = manifests.find((m) => m.platform?.os === 'linux' && m.platform?.architecture === 'amd64');
    if (!chosen) {
      const platforms = manifests.map((m) => `${m.platform?.os ?? '?'}/${m.platform?.architecture ?? '?'}`).join(', ');
      throw new SidebundleError('IMAGE_NO_PLATFORM', `${label} has no linux/amd64 image (it has ${platforms || 'none'})`, {
        input: label,
        kind: 'input',
        hint: 'sidebundle bundles x86-64 Linux programs; choose an image built for linux/amd64',
      });
    }
    descriptor = checkDescriptor(chosen, label);
    document = parse(await read(descriptor, `the linux/amd64 manifest of ${label}`), label);
  }
  const config = checkDescriptor(document.config as Descriptor, label);
  if (document.layers !== undefined && !Array.isArray(document.layers)) throw badDocument(`${label}: the manifest's "layers" is not an array`, label);
  const layers = ((document.layers ?? []) as Descriptor[]).map((l) => checkDescriptor(l, label));
  const configDocument = parse(await read(config, `the config of ${label}`), label);
  const c = (typeof configDocument.config === 'object' && configDocument.config !== null ? configDocument.config : {}) as Record<string, unknown>;
  const words = (value: unknown): string[] | undefined => (Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : undefined);
  const arch = String(configDocument.architecture ?? 'amd64');
  if (arch !== 'amd64') {
    throw new SidebundleError('IMAGE_NO_PLATFORM', `${label} is built for ${arch}, not amd64`, {
      input: label,
      kind: 'input',
      hint: 'sidebundle bundles x86-64 Linux programs; choose an image built for linux/amd64',
    });
  }
  return {
    manifestDigest: descriptor.digest,
    configDigest: config.digest,
    config: {
      env: words(c.Env) ?? [],
      ...(words(c.Entrypoint) ? { entrypoint: words(c.Entrypoint)! } : {}),
      ...(words(c.Cmd) ? { cmd: words(c.Cmd)! } : {}),
      ...(typeof c.WorkingDir === 'string' && c.WorkingDir ? { workingDir: c.WorkingDir } : {}),
      ...(typeof c.User === 'string' && c.User ? { user: c.User } : {}),
    },
    layers,
    platform: { os: String(configDocument.os ?? 'linux'), architecture: arch },
  };
}

function isIndex(mediaType: string, document: Record<string, unknown>): boolean {
  return mediaType === MEDIA.ociIndex || mediaType === MEDIA.dockerList || (document.manifests !== undefined && document.layers === undefined);
}

function parse(bytes: Buffer, label: string): Record<string, unknown> {
  return parseDocument(bytes, 'a document', label);
}

/**
 * A JSON object out of an image's metadata (index.json, a manifest, a config, docker-archive's
 * manifest.json), or IMAGE_BAD_MANIFEST naming which document of which image is not one.
 */
export function parseDocument(bytes: Buffer, what: string, label: string, shape: 'object' | 'array' = 'object'): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw badDocument(`${label}: ${what} is not JSON (${(error as Error).message})`, label);
  }
  const ok = shape === 'array' ? Array.isArray(value) : typeof value === 'object' && value !== null && !Array.isArray(value);
  if (!ok) throw badDocument(`${label}: ${what} is not a JSON ${shape}`, label);
  return value as Record<string, unknown>;
}

export function badDocument(message: string, label: string): SidebundleError {
  return new SidebundleError('IMAGE_BAD_MANIFEST', message, {
    input: label,
    kind: 'input',
    hint: 'the image metadata is damaged or was not written by an image tool; export the image again (skopeo copy, docker save)',
  });
}

export function checkDescriptor(d: Descriptor | undefined, label: string): Descriptor {
  if (!d || typeof d !== 'object' || typeof d.digest !== 'string' || !isDigest(d.digest) || typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0 || (d.mediaType !== undefined && typeof d.mediaType !== 'string')) {
    throw new SidebundleError('IMAGE_BAD_DIGEST', `${label} has a descriptor with a malformed digest or size: ${JSON.stringify(d)?.slice(0, 200)}`, {
      input: label,
      hint: 'the image metadata is malformed or malicious (digests are sha256: and 64 hex digits)',
      kind: 'input',
    });
  }
  return d;
}
