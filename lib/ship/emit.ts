// Images out of a published bundle: an OCI image layout (--emit-oci DIR), a tar of one
// (--emit-oci-archive FILE) and a push to a registry (--push registry://HOST/REPO:TAG), from one
// build of the image. Also the size against the source image, for the user and the result.
import { createReadStream, existsSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync, createWriteStream } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar-stream';

import { SidebundleError } from '../errors';
import { parseImageReference } from '../image/reference';
import { RegistryClient, type RegistryOptions } from '../image/registry';
import { makeDir } from '../util/make-dir';
import { version } from '../version';
import { temporaryBeside, writeFileAtomic } from '../util/write-atomic';
import { ANNOTATIONS, buildImage, indexEntry, OCI, OCI_LAYOUT, type SourceImage } from './image';
import { layoutIndex } from './wants';

export interface EmitImageOptions {
  ociDir?: string;
  ociArchive?: string;
  push?: string;
  entry?: string;
  images?: SourceImage[];
  registry?: RegistryOptions;
}

export interface EmittedImage {
  digest: string;
  entry: string;
  /** The compressed layer (the image's only one). */
  layerBytes: number;
  outputs: { ociDir?: string; ociArchive?: string; pushed?: string };
  source?: { reference: string; digest: string; bytes: number };
  /** Source image's compressed layers / ours, when the entry came from an image. */
  ratio?: number;
}

export { wantsImage } from './wants';

/** The push target: a registry reference with a tag (or none: latest). */
function pushTarget(text: string): { registry: string; repository: string; tag: string } {
  const source = text.startsWith('registry://') ? parseImageReference(text) : undefined;
  if (source?.kind !== 'registry' || source.digest) {
    throw new SidebundleError('BAD_OPTION', `--push ${text} is not registry://HOST[:PORT]/REPO[:TAG]`, { input: text, kind: 'input', hint: 'e.g. --push registry://localhost:5000/tools/jq:1' });
  }
  return { registry: source.registry, repository: source.repository, tag: source.tag ?? 'latest' };
}

/** A tar of a layout directory, sorted, with fixed times and owners: same layout, same bytes.
 * Written to `file` itself (the caller's temporary name); an aborted `signal` ends it at once. */
async function archiveLayout(layout: string, file: string, signal?: AbortSignal): Promise<void> {
  const pack = tar.pack();
  const stop = signal ? [{ signal }] : [];
  const writing = pipeline(pack as unknown as NodeJS.ReadableStream, createWriteStream(file, { mode: 0o644, flags: 'wx' }), ...stop);
  const base = { uid: 0, gid: 0, uname: '', gname: '', mtime: new Date(0) };
  const walk = async (rel: string): Promise<void> => {
    for (const name of readdirSync(path.join(layout, rel)).sort()) {
      signal?.throwIfAborted();
      const at = rel ? `${rel}/${name}` : name;
      const st = statSync(path.join(layout, at));
      if (st.isDirectory()) {
        await new Promise<void>((resolve, reject) => pack.entry({ ...base, name: at, type: 'directory', mode: 0o755 }, (e) => (e ? reject(e) : resolve())));
        await walk(at);
      } else {
        await pipeline(createReadStream(path.join(layout, at)), pack.entry({ ...base, name: at, type: 'file', mode: 0o644, size: st.size }) as unknown as Writable, ...stop);
      }
    }
  };
  try {
    // Both at once: a write that fails (a bad path, a full disk) ends the archive at once, and its
    // error is the one reported, not left unhandled while the walk waits on the stream.
    await Promise.all([walk('').then(() => pack.finalize()), writing]);
  } catch (error) {
    pack.destroy();
    throw error;
  }
}

/**
 * The image of a bundle directory, built whole in a scratch layout of its own (so an archive holds
 * this image alone), then archived and pushed; only once all of that has worked are the user's
 * outputs changed: the archive renamed into place and the image added to the --emit-oci layout.
 * A push the registry refuses, or Ctrl+C, leaves them as they were.
 */
export async function emitImage(bundleDir: string, options: EmitImageOptions): Promise<EmittedImage> {
  const target = options.push ? pushTarget(options.push) : undefined;
  const signal = options.registry?.signal;
  const ociDir = options.ociDir ? path.resolve(options.ociDir) : undefined;
  const archive = options.ociArchive ? path.resolve(options.ociArchive) : undefined;
  // Beside the layout (its blobs are renamed into it), else in the temporary directory.
  const scratchIn = ociDir ? path.dirname(ociDir) : os.tmpdir();
  makeDir(scratchIn);
  const scratch = mkdtempSync(path.join(scratchIn, '.sidebundle-oci-'));
  const archiveTmp = archive ? temporaryBeside(archive) : undefined;
  try {
    const built = await buildImage({ bundleDir, layout: scratch, version: version(), ...(options.entry ? { entry: options.entry } : {}), ...(options.images ? { images: options.images } : {}), ...(target ? { tag: target.tag } : {}), ...(signal ? { signal } : {}) });
    signal?.throwIfAborted();
    if (archive && archiveTmp) {
      makeDir(path.dirname(archive));
      await archiveLayout(scratch, archiveTmp, signal);
      signal?.throwIfAborted();
    }
    let pushed: string | undefined;
    if (target) {
      const client = new RegistryClient(target.registry, target.repository, options.registry ?? {});
      const blob = (digest: string) => path.join(scratch, 'blobs', 'sha256', digest.slice(7));
      await client.pushBlob({ mediaType: OCI.layer, digest: built.layer.digest, size: built.layer.size }, () => createReadStream(blob(built.layer.digest)));
      const config = JSON.parse(built.manifest.toString('utf8')).config as { digest: string; size: number };
      await client.pushBlob({ mediaType: OCI.config, ...config }, () => built.config);
      await client.putManifest(target.tag, OCI.manifest, built.manifest);
      pushed = `registry://${target.registry}/${target.repository}:${target.tag}@${built.digest}`;
    }
    signal?.throwIfAborted();
    if (archive && archiveTmp) renameSync(archiveTmp, archive);
    if (ociDir) addToLayout(scratch, ociDir, { digest: built.digest, size: built.manifest.length }, target?.tag ?? 'latest');
    const outputs = { ...(ociDir ? { ociDir } : {}), ...(archive ? { ociArchive: archive } : {}), ...(pushed ? { pushed } : {}) };
    return {
      digest: built.digest,
      entry: built.entry,
      layerBytes: built.layer.size,
      outputs,
      ...(built.source ? { source: built.source, ...(built.source.bytes > 0 ? { ratio: built.source.bytes / built.layer.size } : {}) } : {}),
    };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
    if (archiveTmp) rmSync(archiveTmp, { force: true });
  }
}

/** The scratch layout's image added to the layout `dir` (made if need be): its blobs renamed in
 * (a rename replaces whatever is at a path, never writes through it), then oci-layout and an
 * index.json that lists the image beside the others (one of the same tag replaced). */
function addToLayout(scratch: string, dir: string, manifest: { digest: string; size: number }, tag: string): void {
  const index = existsSync(dir) ? layoutIndex(dir) : { manifests: [] };
  const blobs = path.join(dir, 'blobs', 'sha256');
  makeDir(blobs);
  for (const name of readdirSync(path.join(scratch, 'blobs', 'sha256'))) renameSync(path.join(scratch, 'blobs', 'sha256', name), path.join(blobs, name));
  writeFileAtomic(path.join(dir, 'oci-layout'), OCI_LAYOUT);
  const others = index.manifests.filter((d) => d.annotations?.[ANNOTATIONS.refName] !== tag);
  writeFileAtomic(path.join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: OCI.index, ...index, manifests: [...others, indexEntry(manifest, tag)] }));
}
