// Image references, spelled as container users know them. Engine sources: `docker://IMAGE`,
// `podman://IMAGE`, or a bare `IMAGE` (docker, else podman). Engine-free sources, spelled as
// skopeo/containers-image transports: `oci:DIR[:REF]` (an OCI image layout),
// `oci-archive:FILE[:REF]` (a tar of one), `docker-archive:FILE[:REF]` (`docker save` output), and
// `registry://HOST[:PORT]/REPO[:TAG|@sha256:HEX]`: a pull from a registry speaking the OCI
// Distribution spec. (skopeo spells that `docker://`, which the original sidebundle already uses
// for the Docker engine; `registry://` keeps both meanings apart.)
import { SidebundleError } from '../errors';

export type ImageSource =
  | { kind: 'engine'; engine: 'docker' | 'podman' | 'auto'; image: string }
  | { kind: 'oci'; dir: string; ref?: string }
  | { kind: 'oci-archive'; file: string; ref?: string }
  | { kind: 'docker-archive'; file: string; ref?: string }
  | { kind: 'registry'; registry: string; repository: string; tag?: string; digest?: string };

const DIGEST = /^sha256:[0-9a-f]{64}$/;

export function isDigest(text: string): boolean {
  return DIGEST.test(text);
}

export function parseImageReference(text: string): ImageSource {
  const bad = (why: string) =>
    new SidebundleError('BAD_IMAGE_REFERENCE', `image reference ${JSON.stringify(text)} ${why}`, {
      input: text,
      kind: 'input',
      hint: 'write docker://IMAGE, podman://IMAGE, oci:DIR[:REF], oci-archive:FILE[:REF], docker-archive:FILE[:REF] or registry://HOST/REPO[:TAG|@sha256:...]',
    });
  if (text.trim() === '' || /\s/.test(text)) throw bad('is empty or contains blanks');
  for (const engine of ['docker', 'podman'] as const) {
    if (text.startsWith(`${engine}://`)) {
      const image = text.slice(engine.length + 3);
      if (!image) throw bad('names no image');
      return { kind: 'engine', engine, image };
    }
  }
  if (text.startsWith('registry://')) {
    const rest = text.slice('registry://'.length);
    const slash = rest.indexOf('/');
    if (slash <= 0) throw bad('needs HOST/REPOSITORY after registry://');
    const registry = rest.slice(0, slash);
    let repository = rest.slice(slash + 1);
    let tag: string | undefined;
    let digest: string | undefined;
    const at = repository.indexOf('@');
    if (at !== -1) {
      digest = repository.slice(at + 1);
      repository = repository.slice(0, at);
      if (!isDigest(digest)) throw bad(`has a malformed digest "${digest}" (expected sha256: and 64 hex digits)`);
    } else {
      const colon = repository.lastIndexOf(':');
      if (colon !== -1) {
        tag = repository.slice(colon + 1);
        repository = repository.slice(0, colon);
      }
    }
    if (!/^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$/.test(repository)) throw bad(`has an invalid repository name "${repository}"`);
    if (tag !== undefined && !/^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/.test(tag)) throw bad(`has an invalid tag "${tag}"`);
    return { kind: 'registry', registry, repository, ...(tag ? { tag } : {}), ...(digest ? { digest } : { tag: tag ?? 'latest' }) };
  }
  for (const kind of ['oci-archive', 'docker-archive', 'oci'] as const) {
    if (text.startsWith(`${kind}:`)) {
      const rest = text.slice(kind.length + 1);
      // PATH[:REF] split at the first colon, as skopeo does (a REF may hold colons: name:tag).
      const colon = rest.indexOf(':');
      const [where, ref] = colon > 0 ? [rest.slice(0, colon), rest.slice(colon + 1)] : [rest, undefined];
      if (!where) throw bad('names no path');
      if (kind === 'oci') return { kind, dir: where, ...(ref ? { ref } : {}) };
      return { kind, file: where, ...(ref ? { ref } : {}) };
    }
  }
  if (text.includes('://')) throw bad('uses an unknown scheme');
  return { kind: 'engine', engine: 'auto', image: text };
}

export function describeSource(source: ImageSource): string {
  switch (source.kind) {
    case 'engine': return `${source.engine === 'auto' ? '' : `${source.engine}://`}${source.image}`;
    case 'oci': return `oci:${source.dir}${source.ref ? `:${source.ref}` : ''}`;
    case 'oci-archive': return `oci-archive:${source.file}${source.ref ? `:${source.ref}` : ''}`;
    case 'docker-archive': return `docker-archive:${source.file}${source.ref ? `:${source.ref}` : ''}`;
    case 'registry': return `registry://${source.registry}/${source.repository}${source.digest ? `@${source.digest}` : `:${source.tag}`}`;
  }
}
