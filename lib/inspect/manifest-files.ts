// What a bundle's manifest.lock says is in the bundle, path by path: regular files (payload,
// launchers and runtime files) with digest, size and mode, and symlinks with their target (a
// payload file whose content another path holds is such a symlink: layout.ts). One table read
// by both verify and diff.
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import * as path from 'node:path';

import { errnoCode, SidebundleError } from '../errors';
import { MANIFEST_FORMAT, type Manifest } from '../package/manifest';
import { MANIFEST_NAME } from '../package/publish';
import { readRegularBytes } from '../util/regular-file';
import { entriesByProgram, reasonInWords } from './reasons';

export type Expected =
  | { kind: 'file'; sha256: string; size: number; mode: string; reasons: string[] }
  | { kind: 'symlink'; target: string; reasons: string[] };

/** A bundle directory or a manifest.lock → the manifest, the sha256 of the bytes it was parsed
 * from (the bundle's identity), and the bundle directory when given one. */
export function readManifest(given: string): { manifest: Manifest; file: string; dir: string | undefined; sha256: string } {
  let isDir = false;
  try {
    isDir = statSync(given).isDirectory();
  } catch (error) {
    throw new SidebundleError('INSPECT_NOT_FOUND', `${given} ${errnoCode(error) === 'ENOENT' ? 'does not exist' : `cannot be read (${(error as Error).message})`}`, {
      input: given,
      kind: 'input',
      hint: 'give a bundle directory (with manifest.lock) or a manifest.lock file',
    });
  }
  const file = isDir ? path.join(given, MANIFEST_NAME) : given;
  let manifest: unknown;
  let sha256 = '';
  try {
    const bytes = readRegularBytes(file);
    sha256 = createHash('sha256').update(bytes).digest('hex');
    manifest = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    const missing = errnoCode(error) === 'ENOENT';
    throw new SidebundleError(missing ? 'INSPECT_NOT_A_BUNDLE' : 'INSPECT_BAD_MANIFEST', missing ? `${given} is not a bundle (no ${MANIFEST_NAME})` : `${file} is not a readable manifest.lock: ${(error as Error).message}`, {
      input: file,
      kind: 'input',
      hint: 'give a directory sidebundle create wrote, or its manifest.lock',
    });
  }
  const m = (typeof manifest === 'object' && manifest !== null ? manifest : {}) as Partial<Manifest>;
  if (m.format !== MANIFEST_FORMAT || !Array.isArray(m.files) || !Array.isArray(m.launchers) || !Array.isArray(m.symlinks)) {
    throw new SidebundleError('INSPECT_BAD_MANIFEST', `${file} is not a ${MANIFEST_FORMAT} manifest.lock`, {
      input: file,
      kind: 'input',
      hint: 'it was written by another version of sidebundle, or is not a manifest.lock; rebuild the bundle',
    });
  }
  const bad = firstMalformed(m as Manifest);
  if (bad !== undefined) {
    throw new SidebundleError('INSPECT_BAD_MANIFEST', `${file} is damaged: ${bad}`, {
      input: file,
      kind: 'input',
      hint: 'manifest.lock was edited or truncated; rebuild the bundle (or compare against a good copy)',
    });
  }
  return { manifest: m as Manifest, file, dir: isDir ? given : undefined, sha256 };
}

/** An optional list: absent is empty, anything but an array is one malformed item. */
function optionalList(value: unknown): unknown[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

/** The first entry of the manifest whose fields do not have the types the readers rely on. */
function firstMalformed(m: Manifest): string | undefined {
  const isString = (v: unknown) => typeof v === 'string';
  const isSafePath = (v: unknown) => isString(v) && (v as string) !== '' && !(v as string).split('/').includes('..') && !(v as string).startsWith('/');
  const lists: Array<[string, unknown[], (e: Record<string, unknown>) => boolean]> = [
    ['files', m.files, (e) => isSafePath(e.path) && (e.sameAs === undefined ? isString(e.sha256) && typeof e.size === 'number' && isString(e.mode) : isSafePath(e.sameAs)) && (e.reasons === undefined || (Array.isArray(e.reasons) && e.reasons.every((r) => typeof r === 'object' && r !== null)))],
    ['launchers', m.launchers, (e) => isSafePath(e.path) && isString(e.sha256) && typeof e.size === 'number' && isString(e.mode)],
    ['symlinks', m.symlinks, (e) => isSafePath(e.path) && isString(e.target)],
    ['entries', Array.isArray(m.entries) ? m.entries : [null], (e) => isString(e.name)],
    ['traced_files', optionalList((m as unknown as Record<string, unknown>).traced_files), (e) => isSafePath(e.path) && (e.sha256 === undefined || isString(e.sha256))],
  ];
  for (const [name, list, ok] of lists) {
    const i = list.findIndex((e) => typeof e !== 'object' || e === null || !ok(e as Record<string, unknown>));
    if (i !== -1) return `${name}[${i}] is malformed: ${JSON.stringify(list[i])?.slice(0, 200)}`;
  }
  if (m.dirs !== undefined && !Array.isArray(m.dirs)) return `dirs is not a list: ${JSON.stringify(m.dirs)?.slice(0, 200)}`;
  const dirs: unknown[] = m.dirs ?? [];
  const i = dirs.findIndex((d) => !isSafePath(d) || (d as string).split('/').some((c) => c === '' || c === '.'));
  if (i !== -1) return `dirs[${i}] is malformed: ${JSON.stringify(dirs[i])?.slice(0, 200)}`;
  return undefined;
}

/** Every path the manifest accounts for (manifest.lock itself aside). */
export function expectedFiles(manifest: Manifest): Map<string, Expected> {
  const expected = new Map<string, Expected>();
  const entryOf = entriesByProgram(manifest);
  for (const f of manifest.files) {
    const reasons = (f.reasons ?? []).map((r) => reasonInWords(r, entryOf));
    if (f.sameAs !== undefined) {
      // Its bytes are checked at the file it points to, which the manifest lists too.
      expected.set(f.path, { kind: 'symlink', target: path.posix.relative(path.posix.dirname(f.path), f.sameAs), reasons });
    } else {
      expected.set(f.path, { kind: 'file', sha256: f.sha256, size: f.size, mode: f.mode, reasons });
    }
  }
  for (const l of manifest.launchers) expected.set(l.path, { kind: 'file', sha256: l.sha256, size: l.size, mode: l.mode, reasons: ['launcher or runtime'] });
  for (const s of manifest.symlinks) expected.set(s.path, { kind: 'symlink', target: s.target, reasons: ['symlink'] });
  return expected;
}
