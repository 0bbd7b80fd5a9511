// The resolve step: static closure of the entries (closure.ts) plus the size, mode and sha256 of
// every file, as a ResolvedClosure. Data in, data out.
import { lstatSync } from 'node:fs';

import { DigestMemo } from '../cache/file-digest';
import { mapLimit } from '../util/limit';
import type { ClosureFile, ResolvedClosure } from '../model/closure';
import { buildClosure, type ClosureOptions } from './closure';
import type { RootFs } from './rootfs';

export interface ResolveOptions extends ClosureOptions {
  /** Digest memo shared across steps (an unchanged file is hashed once). */
  digests?: DigestMemo;
}

export interface ResolveResult {
  closure: ResolvedClosure;
  /** The root view with every probe made (what the step read, for caching). */
  fs: RootFs;
}

/** Resolve entries to a ResolvedClosure with digests. */
export async function resolveClosure(options: ResolveOptions): Promise<ResolveResult> {
  const digests = options.digests ?? new DigestMemo();
  // Each file's hash starts as the walk finds it (on the native hasher's threads, where there
  // is one): the digests below are then ready, or nearly.
  const draft = buildClosure({ ...options, onFile: (hostPath) => digests.prefetch(hostPath) });
  for (const file of draft.files) if (file.from) digests.prefetch(draft.fs.hostPath(file.from));
  const files = await mapLimit(draft.files, 8, async (file): Promise<ClosureFile> => {
    const source = draft.fs.hostPath(file.from ?? file.path);
    const { sha256, size } = await digests.digest(source);
    const mode = lstatSync(source).mode & 0o7777;
    const out: ClosureFile = { path: file.path, ...(file.from ? { from: file.from } : {}), size, mode, sha256, kind: file.kind, reasons: file.reasons };
    if (file.elf) {
      out.elf = {
        needed: file.elf.needed,
        versionNeeds: file.elf.versionNeeds,
        ...(file.elf.soname ? { soname: file.elf.soname } : {}),
        ...(file.elf.interpreter ? { interpreter: file.elf.interpreter } : {}),
      };
    }
    return out;
  });
  const closure: ResolvedClosure = {
    schema: 'sidebundle/closure@1',
    root: draft.root,
    entries: draft.entries,
    files,
    symlinks: draft.symlinks,
    missing: draft.missing,
    excluded: draft.excluded,
    diagnostics: draft.diagnostics,
    ...(draft.dirs.length ? { dirs: draft.dirs } : {}),
    ...(draft.libraryPathExtras.length ? { libraryPathExtras: draft.libraryPathExtras } : {}),
  };
  return { closure, fs: draft.fs };
}
