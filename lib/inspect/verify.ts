// `sidebundle verify DIR`: every file of a bundle re-hashed against its manifest.lock. Names each
// changed file (content, size, mode, kind or symlink target), each missing one, and each extra
// file or symlink the manifest does not account for; and, where the manifest lists the bundle's
// directories, each directory missing, extra or not mode 0755. Hard links are hashed once.
import { lstatSync, readdirSync, readlinkSync, type Stats } from 'node:fs';
import * as path from 'node:path';

import { DigestMemo } from '../cache/file-digest';
import { SidebundleError } from '../errors';
import { mapLimit } from '../util/limit';
import { DIR_MODE } from '../package/manifest';
import { MANIFEST_NAME } from '../package/publish';
import { expectedFiles, readManifest, type Expected } from './manifest-files';

export interface Finding {
  path: string;
  /** What differs, in words: "content (sha256 …, manifest says …)", "mode 0755, manifest says 0555". */
  why: string;
}

export interface VerifyReport {
  ok: boolean;
  dir: string;
  /** sha256 of manifest.lock: the bundle's identity (create prints it), which --manifest-sha256 pins. */
  manifestSha256: string;
  checked: number;
  /** Directories checked (none for a manifest written before directories were recorded). */
  checkedDirs: number;
  /** Whether the manifest lists the directories (earlier versions' do not: none is checked). */
  dirsListed: boolean;
  changed: Finding[];
  missing: Finding[];
  extra: Finding[];
}

interface Tree {
  /** Every non-directory (relative paths, sorted), with its lstat. */
  files: Map<string, Stats>;
  /** Every directory below the root, with its lstat. */
  dirs: Map<string, Stats>;
}

function walk(dir: string, rel = '', out: Tree = { files: new Map(), dirs: new Map() }): Tree {
  for (const name of readdirSync(path.join(dir, rel)).sort()) {
    const at = rel ? `${rel}/${name}` : name;
    const st = lstatSync(path.join(dir, at));
    if (st.isDirectory()) {
      out.dirs.set(at, st);
      walk(dir, at, out);
    } else out.files.set(at, st);
  }
  return out;
}

/** `expectSha256`: the manifest.lock the bundle must have (its sha256, as create printed it): a
 * manifest rewritten to agree with changed files passes every other check, not this one. */
export async function verifyBundle(given: string, expectSha256?: string): Promise<VerifyReport> {
  const { manifest, dir, sha256 } = readManifest(given);
  if (!dir) {
    throw new SidebundleError('BAD_OPTION', `${given} is a file; verify needs the bundle directory (or a .run single file)`, { input: given, kind: 'input', hint: 'give the directory that holds manifest.lock' });
  }
  const expected = expectedFiles(manifest);
  const tree = walk(dir);
  const found = tree.files;
  found.delete(MANIFEST_NAME);
  const report: VerifyReport = { ok: true, dir, manifestSha256: sha256, checked: 0, checkedDirs: 0, dirsListed: manifest.dirs !== undefined, changed: [], missing: [], extra: [] };
  if (expectSha256 !== undefined && expectSha256 !== sha256) report.changed.push({ path: MANIFEST_NAME, why: `sha256 ${sha256}, expected ${expectSha256}: the manifest itself is not the one the bundle was built with` });
  if (manifest.dirs !== undefined) {
    const dirs = compareDirectories(manifest.dirs, tree, expected);
    report.checkedDirs = dirs.checked;
    report.changed.push(...dirs.changed);
    report.missing.push(...dirs.missing);
    report.extra.push(...dirs.extra);
  }
  const present: Array<{ rel: string; st: Stats; want: Expected }> = [];
  for (const [rel, want] of [...expected].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const st = found.get(rel);
    if (!st) {
      report.missing.push({ path: rel, why: `${want.kind} missing (${want.reasons.join('; ')})` });
      continue;
    }
    report.checked += 1;
    present.push({ rel, st, want });
  }
  // Hard links are hashed once (queued once; the memo knows an inode's state once hashed). Every
  // file of the right size is queued at once for the native hasher's threads, where there is one.
  const digests = new DigestMemo();
  const queued = new Set<string>();
  for (const { rel, st, want } of present) {
    if (want.kind !== 'file' || !st.isFile() || st.size !== want.size || queued.has(`${st.dev}:${st.ino}`)) continue;
    queued.add(`${st.dev}:${st.ino}`);
    digests.prefetch(path.join(dir, rel));
  }
  // A few files at once: each hash Node makes holds a descriptor and a 1 MiB buffer while it reads.
  const findings = await mapLimit(present, 8, ({ rel, st, want }) => compare(path.join(dir, rel), rel, st, want, digests));
  for (const finding of findings) if (finding) (finding.gone ? report.missing : report.changed).push({ path: finding.path, why: finding.why });
  for (const [rel, st] of found) {
    if (!expected.has(rel)) report.extra.push({ path: rel, why: `${st.isSymbolicLink() ? `symlink -> ${readlinkSync(path.join(dir, rel))}` : st.isFile() ? `file, ${st.size} bytes` : 'special file'} not in manifest.lock` });
  }
  for (const list of [report.changed, report.missing, report.extra]) list.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  report.ok = report.changed.length + report.missing.length + report.extra.length === 0;
  return report;
}

/**
 * Whether the bundle at `dir` has the shape its manifest.lock gives it: the same paths, each of
 * its kind, symlinks with their targets, files with their sizes and modes, the directories with
 * theirs; no content is read (the step cache's recorded file states vouch for that). A step
 * cache hit on a bundle with a file added or a directory locked must be no hit.
 */
export function shapeMatches(dir: string, manifestSha256: string): boolean {
  try {
    const { manifest, sha256 } = readManifest(dir);
    if (sha256 !== manifestSha256) return false;
    const expected = expectedFiles(manifest);
    const tree = walk(dir);
    tree.files.delete(MANIFEST_NAME);
    if (tree.files.size !== expected.size) return false;
    for (const [rel, want] of expected) {
      const st = tree.files.get(rel);
      if (st === undefined || differsInShape(path.join(dir, rel), rel, st, want) !== null) return false;
      if (want.kind === 'file' && modeOf(st) !== want.mode) return false;
    }
    if (manifest.dirs === undefined) return true;
    const dirs = compareDirectories(manifest.dirs, tree, expected);
    return dirs.changed.length + dirs.missing.length + dirs.extra.length === 0;
  } catch {
    return false;
  }
}

function modeOf(st: Stats): string {
  return (st.mode & 0o7777).toString(8).padStart(4, '0');
}

/** The directories: each listed one present with mode 0755, none unlisted. A non-directory where
 * the manifest has a directory is one change, not also an extra file. Group write and setgid are
 * let pass: they are what a umask of 002 (a user's own group) and a setgid parent give a copy
 * (cp -r, tar, a restore), and a file added or replaced through them is found as such. The
 * bundle's root is not judged: where it is installed decides its mode. */
function compareDirectories(listed: string[], tree: Tree, expected: Map<string, Expected>): { checked: number; changed: Finding[]; missing: Finding[]; extra: Finding[] } {
  const found = { checked: 0, changed: [] as Finding[], missing: [] as Finding[], extra: [] as Finding[] };
  const want = DIR_MODE.toString(8).padStart(4, '0');
  for (const rel of [...new Set(listed)].sort()) {
    const st = tree.dirs.get(rel);
    const other = tree.files.get(rel);
    if (st !== undefined) {
      found.checked += 1;
      if ((st.mode & 0o7777 & ~0o2020) !== DIR_MODE) found.changed.push({ path: rel, why: `directory mode ${modeOf(st)}, manifest says ${want}` });
    } else if (other !== undefined && !expected.has(rel)) {
      found.checked += 1;
      tree.files.delete(rel);
      found.changed.push({ path: rel, why: `a ${other.isSymbolicLink() ? 'symlink' : other.isFile() ? 'file' : 'special file'} where manifest.lock has a directory` });
    } else {
      found.missing.push({ path: rel, why: 'directory missing' });
    }
  }
  const known = new Set(listed);
  for (const rel of tree.dirs.keys()) if (!known.has(rel)) found.extra.push({ path: rel, why: 'directory not in manifest.lock' });
  return found;
}

/** What differs about one file; `gone`: it was removed since the walk (a missing file). */
async function compare(at: string, rel: string, st: Stats, want: Expected, digests: DigestMemo): Promise<(Finding & { gone?: boolean }) | null> {
  const shape = differsInShape(at, rel, st, want);
  if (shape !== null || want.kind === 'symlink') return shape;
  let sha: string;
  try {
    // The cache's hash: it refuses what is no regular file (a path swapped for a FIFO since the
    // walk would block a plain read).
    sha = (await digests.digest(at)).sha256;
  } catch (error) {
    // Removed or replaced since the walk, or unreadable; the error's code, not its message, which
    // names the host path (a hard link's first path, for the others).
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { path: rel, why: `${want.kind} removed while verify ran`, gone: true };
    return { path: rel, why: code === 'EINVAL' ? 'not a regular file where manifest.lock has a file' : `cannot be read (${code ?? (error as Error).message})` };
  }
  if (sha !== want.sha256) return { path: rel, why: `content changed (sha256 ${sha}, manifest says ${want.sha256})` };
  const mode = modeOf(st);
  if (mode !== want.mode) return { path: rel, why: `mode ${mode}, manifest says ${want.mode}` };
  return null;
}

/** What differs about one path before any content is read: its kind, a symlink's target, a
 * file's size (a file's mode is told after its content, the change that matters more). */
function differsInShape(at: string, rel: string, st: Stats, want: Expected): Finding | null {
  if (want.kind === 'symlink') {
    if (!st.isSymbolicLink()) return { path: rel, why: `a ${st.isFile() ? 'file' : 'non-symlink'} where manifest.lock has a symlink -> ${want.target}` };
    const target = readlinkSync(at);
    return target === want.target ? null : { path: rel, why: `symlink -> ${target}, manifest says -> ${want.target}` };
  }
  if (!st.isFile()) return { path: rel, why: `${st.isSymbolicLink() ? `a symlink -> ${readlinkSync(at)}` : 'not a regular file'} where manifest.lock has a file` };
  if (st.size !== want.size) return { path: rel, why: `size ${st.size}, manifest says ${want.size}` };
  return null;
}
