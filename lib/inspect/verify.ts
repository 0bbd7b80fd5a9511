// `sidebundle verify DIR`: every file of a bundle re-hashed against its manifest.lock. Names each
// changed file (content, size, mode, kind or symlink target), each missing one, and each extra
// file or symlink the manifest does not account for. Hard links (payload ↔ data/) are hashed once.
import { lstatSync, readdirSync, readlinkSync, type Stats } from 'node:fs';
import * as path from 'node:path';

import { sha256File } from '../cache/file-digest';
import { SidebundleError } from '../errors';
import { mapLimit } from '../util/limit';
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
  checked: number;
  changed: Finding[];
  missing: Finding[];
  extra: Finding[];
}

/** Every non-directory under `dir` (relative paths, sorted), with its lstat. */
function walk(dir: string, rel = '', out: Array<[string, Stats]> = []): Array<[string, Stats]> {
  for (const name of readdirSync(path.join(dir, rel)).sort()) {
    const at = rel ? `${rel}/${name}` : name;
    const st = lstatSync(path.join(dir, at));
    if (st.isDirectory()) walk(dir, at, out);
    else out.push([at, st]);
  }
  return out;
}

export async function verifyBundle(given: string): Promise<VerifyReport> {
  const { manifest, dir } = readManifest(given);
  if (!dir) {
    throw new SidebundleError('BAD_OPTION', `${given} is a file; verify needs the bundle directory (or a .run single file)`, { input: given, kind: 'input', hint: 'give the directory that holds manifest.lock' });
  }
  const expected = expectedFiles(manifest);
  const found = new Map(walk(dir).filter(([p]) => p !== MANIFEST_NAME));
  const report: VerifyReport = { ok: true, dir, checked: 0, changed: [], missing: [], extra: [] };
  const digests = new Map<string, Promise<string>>(); // by dev:inode
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
  // A few files at once: each hash holds a descriptor and a 1 MiB buffer while it reads.
  const findings = await mapLimit(present, 8, ({ rel, st, want }) => compare(path.join(dir, rel), rel, st, want, digests));
  for (const finding of findings) if (finding) (finding.gone ? report.missing : report.changed).push({ path: finding.path, why: finding.why });
  for (const [rel, st] of found) {
    if (!expected.has(rel)) report.extra.push({ path: rel, why: `${st.isSymbolicLink() ? `symlink -> ${readlinkSync(path.join(dir, rel))}` : st.isFile() ? `file, ${st.size} bytes` : 'special file'} not in manifest.lock` });
  }
  report.ok = report.changed.length + report.missing.length + report.extra.length === 0;
  return report;
}

/** What differs about one file; `gone`: it was removed since the walk (a missing file). */
async function compare(at: string, rel: string, st: Stats, want: Expected, digests: Map<string, Promise<string>>): Promise<(Finding & { gone?: boolean }) | null> {
  if (want.kind === 'symlink') {
    if (!st.isSymbolicLink()) return { path: rel, why: `a ${st.isFile() ? 'file' : 'non-symlink'} where manifest.lock has a symlink -> ${want.target}` };
    const target = readlinkSync(at);
    return target === want.target ? null : { path: rel, why: `symlink -> ${target}, manifest says -> ${want.target}` };
  }
  if (!st.isFile()) return { path: rel, why: `${st.isSymbolicLink() ? `a symlink -> ${readlinkSync(at)}` : 'not a regular file'} where manifest.lock has a file` };
  if (st.size !== want.size) return { path: rel, why: `size ${st.size}, manifest says ${want.size}` };
  const key = `${st.dev}:${st.ino}`;
  // The cache's hash: it refuses what is no regular file once opened (a path swapped for a FIFO
  // since the walk would block a plain read).
  if (!digests.has(key)) digests.set(key, sha256File(at).then((digest) => digest.sha256));
  let sha: string;
  try {
    sha = await digests.get(key)!;
  } catch (error) {
    // Removed or replaced since the walk, or unreadable; the error's code, not its message, which
    // names the host path (a hard link's first path, for the others).
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { path: rel, why: `${want.kind} removed while verify ran`, gone: true };
    return { path: rel, why: code === 'EINVAL' ? 'not a regular file where manifest.lock has a file' : `cannot be read (${code ?? (error as Error).message})` };
  }
  if (sha !== want.sha256) return { path: rel, why: `content changed (sha256 ${sha}, manifest says ${want.sha256})` };
  const mode = (st.mode & 0o7777).toString(8).padStart(4, '0');
  if (mode !== want.mode) return { path: rel, why: `mode ${mode}, manifest says ${want.mode}` };
  return null;
}
