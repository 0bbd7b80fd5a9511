// Images out of a published bundle: an OCI image layout (--emit-oci DIR), a tar of one
// (--emit-oci-archive FILE) and a push to a registry (--push registry://HOST/REPO:TAG), from one
// build of the image. Also the size against the source image, for the user and the result.
import { createReadStream, mkdtempSync, readdirSync, renameSync, rmSync, statSync, createWriteStream } from 'node:fs';
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
import { buildImage, OCI, type SourceImage } from './image';

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

/** A tar of a layout directory, sorted, with fixed times and owners: same layout, same bytes. */
async function archiveLayout(layout: string, file: string): Promise<void> {
  makeDir(path.dirname(file));
  const tmp = `${file}.tmp-${process.pid}`;
  const pack = tar.pack();
  const writing = pipeline(pack as unknown as NodeJS.ReadableStream, createWriteStream(tmp, { mode: 0o644 }));
  const base = { uid: 0, gid: 0, uname: '', gname: '', mtime: new Date(0) };
  const walk = async (rel: string): Promise<void> => {
    for (const name of readdirSync(path.join(layout, rel)).sort()) {
      const at = rel ? `${rel}/${name}` : name;
      const st = statSync(path.join(layout, at));
      if (st.isDirectory()) {
        await new Promise<void>((resolve, reject) => pack.entry({ ...base, name: at, type: 'directory', mode: 0o755 }, (e) => (e ? reject(e) : resolve())));
        await walk(at);
      } else {
        await pipeline(createReadStream(path.join(layout, at)), pack.entry({ ...base, name: at, type: 'file', mode: 0o644, size: st.size }) as unknown as Writable);
      }
    }
  };
  try {
    // Both at once: a write that fails (a bad path, a full disk) ends the archive at once, and its
    // error is the one reported, not left unhandled while the walk waits on the stream.
    await Promise.all([walk('').then(() => pack.finalize()), writing]);
    renameSync(tmp, file);
  } catch (error) {
    pack.destroy();
    rmSync(tmp, { force: true });
    throw error;
  }
}

export async function emitImage(bundleDir: string, options: EmitImageOptions): Promise<EmittedImage> {
  const target = options.push ? pushTarget(options.push) : undefined;
  const scratch = options.ociDir ? undefined : mkdtempSync(path.join(os.tmpdir(), 'sidebundle-oci-'));
  const layout = options.ociDir ? path.resolve(options.ociDir) : scratch!;
  try {
    const built = await buildImage({ bundleDir, layout, version: version(), ...(options.entry ? { entry: options.entry } : {}), ...(options.images ? { images: options.images } : {}), ...(target ? { tag: target.tag } : {}) });
    const outputs: EmittedImage['outputs'] = options.ociDir ? { ociDir: layout } : {};
    if (options.ociArchive) {
      await archiveLayout(layout, path.resolve(options.ociArchive));
      outputs.ociArchive = path.resolve(options.ociArchive);
    }
    if (target) {
      const client = new RegistryClient(target.registry, target.repository, options.registry ?? {});
      const blob = (digest: string) => path.join(layout, 'blobs', 'sha256', digest.slice(7));
      await client.pushBlob({ mediaType: OCI.layer, digest: built.layer.digest, size: built.layer.size }, () => createReadStream(blob(built.layer.digest)));
      const config = JSON.parse(built.manifest.toString('utf8')).config as { digest: string; size: number };
      await client.pushBlob({ mediaType: OCI.config, ...config }, () => built.config);
      await client.putManifest(target.tag, OCI.manifest, built.manifest);
      outputs.pushed = `registry://${target.registry}/${target.repository}:${target.tag}@${built.digest}`;
    }
    return {
      digest: built.digest,
      entry: built.entry,
      layerBytes: built.layer.size,
      outputs,
      ...(built.source ? { source: built.source, ...(built.source.bytes > 0 ? { ratio: built.source.bytes / built.layer.size } : {}) } : {}),
    };
  } finally {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  }
}
