// Engine-free local sources: an OCI image layout directory, a tar of one (oci-archive), and
// `docker save` output (docker-archive). Archives are read as streams, twice at most: once for
// the small documents (index, manifests, configs), and only if some layer is not yet unpacked
// in the cache, once more to keep those layers as verified blobs. Nothing is extracted to disk
// by path, so an archive cannot write anywhere.
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar-stream';

import { errnoCode, SidebundleError } from '../errors';
import { openRegularFile, openVerifiedFile, readRegularFile, verifyBuffer, type VerifiedBlob } from './blob';
import { badDocument, checkDescriptor, parseDocument, resolveManifest, type Descriptor, type ResolvedImage } from './manifest';
import type { ImageStore } from './store';

const SMALL = 8 * 1024 * 1024;

/** A source's image, and how to get one of its layers as a verified (compressed) stream. */
export interface OpenedImage {
  image: ResolvedImage;
  /** Identity of each layer for the snapshot chain (its blob digest). */
  layerIds: string[];
  /** Verified whole before it is returned: nothing of a corrupt layer is ever applied. */
  openLayer(index: number): Promise<VerifiedBlob>;
  label: string;
}

function notFound(what: string, where: string, hint: string): SidebundleError {
  return new SidebundleError('IMAGE_NOT_FOUND', `${what} not found in ${where}`, { input: where, kind: 'input', hint });
}

/** Pick the top descriptor of an index.json by ref (org.opencontainers.image.ref.name). */
function pickFromIndex(index: { manifests?: unknown }, ref: string | undefined, where: string): Descriptor {
  if (index.manifests !== undefined && !Array.isArray(index.manifests)) throw badDocument(`${where}: "manifests" in index.json is not an array`, where);
  const manifests = ((index.manifests ?? []) as Descriptor[]).filter((d) => typeof d === 'object' && d !== null);
  const refOf = (d: Descriptor) => d.annotations?.['org.opencontainers.image.ref.name'];
  const chosen = ref === undefined ? (manifests.length === 1 ? manifests[0] : undefined) : manifests.find((d) => refOf(d) === ref);
  if (!chosen) {
    const refs = manifests.map(refOf).filter(Boolean).join(', ');
    throw notFound(ref === undefined ? 'a single image' : `the reference "${ref}"`, where, refs ? `it holds: ${refs}; write :REF after the path` : 'the layout is empty');
  }
  return checkDescriptor(chosen, where);
}

export async function openOciLayout(dir: string, ref: string | undefined): Promise<OpenedImage> {
  const label = `oci:${dir}${ref ? `:${ref}` : ''}`;
  if (!existsSync(path.join(dir, 'oci-layout')) || !existsSync(path.join(dir, 'index.json'))) {
    throw new SidebundleError('IMAGE_NOT_FOUND', `${dir} is not an OCI image layout (no oci-layout and index.json)`, {
      input: dir,
      kind: 'input',
      hint: 'give the directory skopeo or umoci wrote (oci:DIR[:REF])',
    });
  }
  const blob = (d: Descriptor) => path.join(dir, 'blobs', d.digest.replace(':', '/'));
  const readVerified = async (d: Descriptor, what: string): Promise<Buffer> => {
    checkDescriptor(d, label);
    if (!existsSync(blob(d))) throw notFound(what, label, 'the layout is incomplete');
    return verifyBuffer(readRegularFile(blob(d), `${what} (${d.digest})`), d.digest, d.size, `${what} (${d.digest})`);
  };
  const index = parseDocument(readRegularFile(path.join(dir, 'index.json'), label), 'index.json', label);
  const image = await resolveManifest(pickFromIndex(index, ref, label), readVerified, label);
  return {
    image,
    label,
    layerIds: image.layers.map((l) => l.digest),
    openLayer: async (i) => {
      const d = image.layers[i]!;
      if (!existsSync(blob(d))) throw notFound(`layer ${d.digest}`, label, 'the layout is incomplete');
      return openVerifiedFile(blob(d), d.digest, d.size, `${label} layer ${d.digest}`);
    },
  };
}

/** Stream the members of a tar: small ones into memory (by name), the rest to `large`. */
async function scan(file: string, keepLarge: (name: string) => boolean, large: (name: string, stream: Readable) => Promise<void>): Promise<Map<string, Buffer>> {
  const small = new Map<string, Buffer>();
  const extract = tar.extract();
  extract.on('entry', (header, stream, next) => {
    const name = header.name.replace(/^\.\//, '');
    const finish = (error?: unknown) => (error ? next(error as Error) : next());
    if (header.type !== 'file' && header.type !== 'contiguous-file') {
      stream.resume();
      finish();
      return;
    }
    if ((header.size ?? 0) <= SMALL) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => chunks.push(c as Buffer));
      stream.on('end', () => {
        small.set(name, Buffer.concat(chunks));
        finish();
      });
      stream.on('error', finish);
    } else if (keepLarge(name)) {
      large(name, stream as unknown as Readable).then(() => finish(), finish);
    } else {
      stream.resume();
      stream.on('end', () => finish());
    }
  });
  if (!existsSync(file)) throw new SidebundleError('IMAGE_NOT_FOUND', `${file} does not exist`, { input: file, kind: 'input', hint: 'check the archive path' });
  const { fd } = openRegularFile(file, 'the image archive');
  try {
    await pipeline(createReadStream('', { fd }), extract);
  } catch (error) {
    if (error instanceof SidebundleError || /^E[A-Z]+$/.test(errnoCode(error) ?? '')) throw error;
    // tar-stream's own complaints ("Invalid tar header", "Unexpected end of data"): not a tar.
    throw new SidebundleError('IMAGE_BAD_ARCHIVE', `${file} is not a readable tar archive: ${(error as Error).message}`, {
      input: file,
      kind: 'input',
      hint: 'give an uncompressed tar written by skopeo copy (oci-archive:, docker-archive:) or docker save; gunzip it first if it is compressed',
    });
  }
  return small;
}

/** One image of docker-archive's manifest.json, its fields checked. */
function dockerEntry(e: { Config?: unknown; RepoTags?: unknown; Layers?: unknown }, label: string): { Config: string; RepoTags: string[]; Layers: string[] } {
  const strings = (v: unknown) => Array.isArray(v) && v.every((x) => typeof x === 'string');
  if (typeof e !== 'object' || e === null || typeof e.Config !== 'string' || !strings(e.Layers) || (e.RepoTags !== undefined && e.RepoTags !== null && !strings(e.RepoTags))) {
    throw badDocument(`${label}: manifest.json has an entry without a Config string and a Layers list`, label);
  }
  return { Config: e.Config, RepoTags: (e.RepoTags as string[] | null) ?? [], Layers: e.Layers as string[] };
}

/**
 * An archive whose layers come out of a second pass only when needed: `need(i)` says whether
 * layer i is missing from the cache; those are kept as verified blobs in the store.
 */
function archiveLayers(file: string, label: string, store: ImageStore, members: Map<string, Buffer>, layerMembers: string[], layers: Array<{ digest: string; size?: number }>) {
  let fetched = false;
  const fetch = async () => {
    if (fetched) return;
    fetched = true;
    const wanted = new Map(layerMembers.map((m, i) => [m, i]));
    await scan(file, (name) => wanted.has(name) && !store.hasBlob(layers[wanted.get(name)!]!.digest), async (name, stream) => {
      const d = layers[wanted.get(name)!]!;
      await store.putBlob(d.digest, d.size, stream, `${label} layer ${d.digest}`);
    });
  };
  return async (i: number): Promise<VerifiedBlob> => {
    const d = layers[i]!;
    const inline = members.get(layerMembers[i]!);
    if (inline) return { stream: Readable.from([verifyBuffer(inline, d.digest, d.size, `${label} layer ${d.digest}`)]), bytes: inline.length };
    if (!store.hasBlob(d.digest)) await fetch();
    if (!store.hasBlob(d.digest)) throw notFound(`layer ${d.digest}`, label, 'the archive is incomplete');
    return store.openBlob(d.digest, d.size, `${label} layer ${d.digest}`);
  };
}

export async function openOciArchive(file: string, ref: string | undefined, store: ImageStore): Promise<OpenedImage> {
  const label = `oci-archive:${file}${ref ? `:${ref}` : ''}`;
  const members = await scan(file, () => false, async () => undefined);
  const indexText = members.get('index.json');
  if (!indexText || !members.has('oci-layout')) {
    throw new SidebundleError('IMAGE_NOT_FOUND', `${file} is not an OCI archive (no index.json and oci-layout inside)`, {
      input: file,
      kind: 'input',
      hint: 'give a tar of an OCI layout (skopeo copy ... oci-archive:FILE), or use docker-archive: for docker save output',
    });
  }
  const readVerified = async (d: Descriptor, what: string): Promise<Buffer> => {
    const bytes = members.get(`blobs/${d.digest.replace(':', '/')}`);
    if (!bytes) throw notFound(what, label, 'the archive is incomplete');
    return verifyBuffer(bytes, d.digest, d.size, `${what} (${d.digest})`);
  };
  const image = await resolveManifest(pickFromIndex(parseDocument(indexText, 'index.json', label), ref, label), readVerified, label);
  const layerMembers = image.layers.map((l) => `blobs/${l.digest.replace(':', '/')}`);
  return { image, label, layerIds: image.layers.map((l) => l.digest), openLayer: archiveLayers(file, label, store, members, layerMembers, image.layers) };
}

/**
 * `docker save` output: manifest.json lists the config and the layer tars; the config's
 * rootfs.diff_ids are the sha256 of those (uncompressed) tars, and the config file is named
 * by its own digest: both are checked.
 */
export async function openDockerArchive(file: string, ref: string | undefined, store: ImageStore): Promise<OpenedImage> {
  const label = `docker-archive:${file}${ref ? `:${ref}` : ''}`;
  const members = await scan(file, () => false, async () => undefined);
  const manifestText = members.get('manifest.json');
  if (!manifestText) {
    throw new SidebundleError('IMAGE_NOT_FOUND', `${file} is not a docker-archive (no manifest.json inside)`, {
      input: file,
      kind: 'input',
      hint: 'give the output of docker save (or skopeo copy ... docker-archive:FILE)',
    });
  }
  const entries = (parseDocument(manifestText, 'manifest.json', label, 'array') as unknown as Array<{ Config?: unknown; RepoTags?: unknown; Layers?: unknown }>).map((e) => dockerEntry(e, label));
  const entry = ref === undefined ? (entries.length === 1 ? entries[0] : undefined) : entries.find((e) => (e.RepoTags ?? []).some((t) => t === ref || t.endsWith(`/${ref}`)));
  if (!entry) {
    throw notFound(ref === undefined ? 'a single image' : `the image "${ref}"`, label, `it holds: ${entries.flatMap((e) => e.RepoTags ?? []).join(', ') || 'untagged images'}`);
  }
  const configBytes = members.get(entry.Config);
  if (!configBytes) throw notFound(`the config ${entry.Config}`, label, 'the archive is incomplete');
  const configDigest = `sha256:${createHash('sha256').update(configBytes).digest('hex')}`;
  const named = /([0-9a-f]{64})(\.json)?$/.exec(entry.Config)?.[1];
  if (named && `sha256:${named}` !== configDigest) {
    throw new SidebundleError('IMAGE_DIGEST_MISMATCH', `${label}: the config ${entry.Config} hashes to ${configDigest}`, { input: label, hint: 'the archive is damaged or tampered with' });
  }
  const config = parseDocument(configBytes, `the config ${entry.Config}`, label) as { architecture?: string; os?: string; config?: Record<string, unknown>; rootfs?: { diff_ids?: string[] } };
  const diffIds = config.rootfs?.diff_ids ?? [];
  if (diffIds.length !== entry.Layers.length) {
    throw new SidebundleError('IMAGE_BAD_MANIFEST', `${label}: ${entry.Layers.length} layers but ${diffIds.length} diff_ids in its config`, { input: label, hint: 'the archive is damaged' });
  }
  // Layer sizes are not in docker-archive metadata: layers are verified by digest alone.
  const layers: Descriptor[] = diffIds.map((digest) => checkDescriptor({ mediaType: 'application/vnd.docker.image.rootfs.diff.tar', digest, size: 0 }, label));
  const unsized = layers.map((l) => ({ digest: l.digest }));
  const c = config.config ?? {};
  const image: ResolvedImage = {
    manifestDigest: configDigest,
    configDigest,
    config: {
      env: Array.isArray(c.Env) ? (c.Env as string[]) : [],
      ...(Array.isArray(c.Entrypoint) ? { entrypoint: c.Entrypoint as string[] } : {}),
      ...(Array.isArray(c.Cmd) ? { cmd: c.Cmd as string[] } : {}),
      ...(typeof c.WorkingDir === 'string' && c.WorkingDir ? { workingDir: c.WorkingDir } : {}),
    },
    layers,
    platform: { os: config.os ?? 'linux', architecture: config.architecture ?? 'amd64' },
  };
  if (image.platform.architecture !== 'amd64') {
    throw new SidebundleError('IMAGE_NO_PLATFORM', `${label} is built for ${image.platform.architecture}, not amd64`, { input: label, kind: 'input', hint: 'choose a linux/amd64 image' });
  }
  return { image, label, layerIds: diffIds, openLayer: archiveLayers(file, label, store, members, entry.Layers, unsized) };
}

