// A bundle as a minimal OCI image, FROM scratch: one layer with the chosen entry's payload as the
// root file system and the bundle directory itself at /sidebundle (launchers, runtime,
// manifest.lock; its payload/ a symlink to /), a config whose Entrypoint is the entry's program
// (Env, WorkingDir, User and the arguments of its Cmd carried over when the entry came from an
// image), and annotations naming the source image, the sidebundle version and manifest.lock's
// digest. Written into an OCI image layout; nothing in it depends on the time or the machine, so
// the same bundle gives the same image digest.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

import { SidebundleError } from '../errors';
import type { ImageConfig } from '../image/manifest';
import { DEFAULT_PATH } from '../model/closure';
import type { Manifest } from '../package/manifest';
import { MANIFEST_NAME } from '../package/publish';
import { BUNDLE_MOUNT, writeLayer, type WrittenLayer } from './layer';
import type { IndexDescriptor } from './wants';

export const OCI = {
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layer: 'application/vnd.oci.image.layer.v1.tar+gzip',
  index: 'application/vnd.oci.image.index.v1+json',
};

export const ANNOTATIONS = {
  source: 'dev.sidebundle.source.digest',
  sourceRef: 'dev.sidebundle.source.reference',
  version: 'dev.sidebundle.version',
  manifestLock: 'dev.sidebundle.manifest-lock.sha256',
  entry: 'dev.sidebundle.entry',
  refName: 'org.opencontainers.image.ref.name',
};

export const OCI_LAYOUT = JSON.stringify({ imageLayoutVersion: '1.0.0' });

/** The image's line in an index.json, tagged. */
export function indexEntry(manifest: { digest: string; size: number }, tag: string): IndexDescriptor {
  return { mediaType: OCI.manifest, ...manifest, annotations: { [ANNOTATIONS.refName]: tag } };
}

/** The image an entry came from: what the bundle step knows of it. */
export interface SourceImage {
  reference: string;
  digest: string;
  rootfs: string;
  config: ImageConfig;
  layers: Array<{ size: number }>;
}

export interface BuiltImage {
  layout: string;
  /** The manifest's digest: the image's identity. */
  digest: string;
  manifest: Buffer;
  config: Buffer;
  layer: WrittenLayer;
  entry: string;
  source?: { reference: string; digest: string; bytes: number };
}

type Entry = Manifest['entries'][number];

export function chooseEntry(manifest: Manifest, name: string | undefined, bundleDir: string): Entry {
  const entry = name === undefined ? manifest.entries[0] : manifest.entries.find((e) => e.name === name);
  if (!entry) {
    throw new SidebundleError('BAD_OPTION', name === undefined ? `${bundleDir} has no entries` : `--oci-entry ${name} is not an entry of ${bundleDir}`, {
      input: name ?? bundleDir,
      kind: 'input',
      hint: `entries: ${manifest.entries.map((e) => e.name).join(', ') || 'none'}`,
    });
  }
  return entry;
}

/** The config's `config`: the entry's program as Entrypoint, the rest from its source image. */
export function runConfig(entry: Entry, source: SourceImage | undefined, setEnv: Record<string, string>): Record<string, unknown> {
  const program = entry.logicalProgram ?? `/${path.posix.relative(entry.payload, entry.program)}`;
  const image = source?.config;
  // The source's own command line, when it runs this program: its arguments become Cmd.
  const line = [...(image?.entrypoint ?? []), ...(image?.cmd ?? [])];
  const args = line[0] === program || (line[0] !== undefined && path.posix.basename(line[0]) === path.posix.basename(program)) ? line.slice(1) : entry.args ?? [];
  const env = image?.env.length ? image.env : [`PATH=${DEFAULT_PATH.join(':')}`];
  return {
    Entrypoint: [program],
    ...(args.length ? { Cmd: args } : {}),
    Env: [...env, ...Object.entries(setEnv).map(([k, v]) => `${k}=${v}`)],
    ...(image?.workingDir ? { WorkingDir: image.workingDir } : {}),
    ...(image?.user ? { User: image.user } : {}),
  };
}

const sha = (bytes: Buffer) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

function putBlob(layout: string, bytes: Buffer): { digest: string; size: number } {
  const digest = sha(bytes);
  writeFileSync(path.join(layout, 'blobs', 'sha256', digest.slice(7)), bytes);
  return { digest, size: bytes.length };
}

export interface BuildImageOptions {
  bundleDir: string;
  /** A new OCI image layout directory to write the image into (emit.ts adds it to the user's). */
  layout: string;
  entry?: string;
  /** The images of the bundle's image roots (BundleResult.images). */
  images?: SourceImage[];
  version: string;
  /** Tag recorded in index.json (org.opencontainers.image.ref.name). */
  tag?: string;
  /** Ctrl+C: ends the layer's write. */
  signal?: AbortSignal;
}

export async function buildImage(options: BuildImageOptions): Promise<BuiltImage> {
  const { bundleDir, layout } = options;
  const lockBytes = readFileSync(path.join(bundleDir, MANIFEST_NAME));
  const manifest = JSON.parse(lockBytes.toString('utf8')) as Manifest;
  const entry = chooseEntry(manifest, options.entry, bundleDir);
  const root = manifest.roots.find((r) => r.payload === entry.payload);
  const source = options.images?.find((i) => i.rootfs === root?.root);
  const tag = options.tag ?? 'latest';
  mkdirSync(path.join(layout, 'blobs', 'sha256'), { recursive: true });
  const tmp = path.join(layout, 'blobs', 'sha256', `.layer-${process.pid}`);
  let layer: WrittenLayer;
  try {
    layer = await writeLayer(tmp, [
      { prefix: '', dir: path.join(bundleDir, entry.payload) },
      { prefix: BUNDLE_MOUNT, dir: bundleDir, skip: [entry.payload] },
    ], [{ name: BUNDLE_MOUNT, type: 'directory' }, { name: `${BUNDLE_MOUNT}/${entry.payload}`, type: 'symlink', linkname: '..' }], options.signal);
    renameSync(tmp, path.join(layout, 'blobs', 'sha256', layer.digest.slice(7)));
  } finally {
    rmSync(tmp, { force: true });
  }
  const setEnv = Object.fromEntries(Object.entries(entry.env ?? {}).filter(([k]) => !k.startsWith('SIDEBUNDLE_')));
  const config = Buffer.from(JSON.stringify({
    architecture: 'amd64',
    os: 'linux',
    config: runConfig(entry, source, setEnv),
    rootfs: { type: 'layers', diff_ids: [layer.diffId] },
    history: [{ created_by: `sidebundle ${options.version} (bundle ${manifest.name}, entry ${entry.name})` }],
  }));
  const configBlob = putBlob(layout, config);
  const annotations: Record<string, string> = {
    [ANNOTATIONS.version]: options.version,
    [ANNOTATIONS.manifestLock]: sha(lockBytes),
    [ANNOTATIONS.entry]: entry.name,
    ...(source ? { [ANNOTATIONS.source]: source.digest, [ANNOTATIONS.sourceRef]: source.reference } : {}),
  };
  const manifestBytes = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI.manifest,
    config: { mediaType: OCI.config, ...configBlob },
    layers: [{ mediaType: OCI.layer, digest: layer.digest, size: layer.size }],
    annotations,
  }));
  const manifestBlob = putBlob(layout, manifestBytes);
  writeFileSync(path.join(layout, 'oci-layout'), OCI_LAYOUT);
  writeFileSync(path.join(layout, 'index.json'), JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI.index,
    manifests: [indexEntry(manifestBlob, tag)],
  }));
  return {
    layout,
    digest: manifestBlob.digest,
    manifest: manifestBytes,
    config,
    layer,
    entry: entry.name,
    ...(source ? { source: { reference: source.reference, digest: source.digest, bytes: source.layers.reduce((n, l) => n + l.size, 0) } } : {}),
  };
}
