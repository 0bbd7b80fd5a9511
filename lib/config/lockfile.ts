// sidebundle.lock: the files outside the workspace that traced runs read and the bundle ships
// (a dlopen'ed plugin, Python modules), with what each held, and what collection looked at to
// choose what it added (paths probed, absent ones too, and directories listed, by a digest of
// their names). The trace target writes it beside sidebundle.json; `sidebundle digest --traced`
// prints what those paths hold now, which is how Nx's hash sees them (a depfile, committed so a
// fresh clone or CI hashes the same list). Deterministic: sorted paths, no timestamps.
import { existsSync } from 'node:fs';
import * as path from 'node:path';

import type { StepInput } from '../cache/step-cache';
import { SidebundleError } from '../errors';
import { readRegularFile } from '../util/regular-file';
import { writeFileAtomic } from '../util/write-atomic';
import type { ResolvedClosure } from '../model/closure';

export const LOCK_FILE = 'sidebundle.lock';
const SCHEMA = 'sidebundle/lock@1';

export interface Lock {
  schema: typeof SCHEMA;
  /** host path → sha256 of a file, `-> TARGET` of a symlink, `dir`, or `absent` */
  files: Record<string, string>;
  /** directory → sha256 of its sorted names (NUL-separated): directories collection listed */
  listings?: Record<string, string>;
}

/** The lock file of a configuration file (or of a project directory, for inline options). */
export function lockFileOf(configFileOrDir: string): string {
  return configFileOrDir.endsWith('.json') ? path.join(path.dirname(configFileOrDir), LOCK_FILE) : path.join(configFileOrDir, LOCK_FILE);
}

/** Host paths a trace added to a static closure, outside the workspace (Nx hashes the inside). */
export function lockedPaths(groups: Array<{ root: string; static: ResolvedClosure; traced: ResolvedClosure; image?: unknown }>, workspaceRoot: string): string[] {
  const out = new Set<string>();
  for (const group of groups) {
    // An image's files are fixed by its identity, which the resolve fingerprint prints.
    if (group.image !== undefined) continue;
    const known = new Set([...group.static.files.map((f) => f.path), ...group.static.symlinks.map((l) => l.path)]);
    const added = [...group.traced.files.map((f) => ({ path: f.path, from: f.from ?? f.path })), ...group.traced.symlinks.map((l) => ({ path: l.path, from: l.path }))];
    for (const file of added) {
      if (known.has(file.path)) continue;
      const host = group.root === '/' ? file.from : path.join(group.root, file.from);
      if (!isInside(host, workspaceRoot)) out.add(host);
    }
  }
  return [...out].sort();
}

/**
 * What collection looked at, outside the workspace and not on the way to it (the directories
 * above a checkout differ between clones): paths and listed directories, each sorted.
 */
export function collectionInputs(groups: Array<{ collectedFrom?: { paths: string[]; listings: string[] }; image?: unknown }>, workspaceRoot: string): { paths: string[]; listings: string[] } {
  const paths = new Set<string>();
  const listings = new Set<string>();
  for (const group of groups) {
    if (group.image !== undefined || group.collectedFrom === undefined) continue;
    for (const p of group.collectedFrom.paths) if (!inWorkspaceOrAbove(p, workspaceRoot)) paths.add(p);
    for (const d of group.collectedFrom.listings) if (!inWorkspaceOrAbove(d, workspaceRoot)) listings.add(d);
  }
  return { paths: [...paths].sort(), listings: [...listings].sort() };
}

export function lockOf(inputs: StepInput[]): Lock {
  const files: Record<string, string> = {};
  const listings: Record<string, string> = {};
  for (const input of [...inputs].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
    if (input.kind === 'listing') listings[input.path] = input.sha256;
    else files[input.path] = describeInput(input);
  }
  return { schema: SCHEMA, files, ...(Object.keys(listings).length > 0 ? { listings } : {}) };
}

/** One line of a fingerprint: what is at a path now. */
export function describeInput(input: StepInput): string {
  return input.kind === 'file' || input.kind === 'listing' ? input.sha256 : input.kind === 'link' ? `-> ${input.target}` : input.kind;
}

export function formatLock(lock: Lock): string {
  return `${JSON.stringify(lock, null, 2)}\n`;
}

/** Write the lock when its content changed (an unchanged lock keeps its mtime). */
export function writeLock(file: string, lock: Lock): boolean {
  const text = formatLock(lock);
  if (existsSync(file) && sameText(file, text)) return false;
  writeFileAtomic(file, text);
  return true;
}

/** Whether the regular file `file` holds `text` (anything else there is replaced). */
function sameText(file: string, text: string): boolean {
  try {
    return readRegularFile(file) === text;
  } catch {
    return false;
  }
}

/** The lock, or undefined when there is none yet (nothing traced, or never run). */
export function readLock(file: string): Lock | undefined {
  let text: string;
  try {
    text = readRegularFile(file);
  } catch {
    return undefined;
  }
  let lock: Lock;
  try {
    lock = JSON.parse(text) as Lock;
  } catch (error) {
    throw new SidebundleError('LOCK_INVALID', `${file} is not valid JSON: ${(error as Error).message}`, { input: file, kind: 'input', hint: 'delete it; the trace target writes it again' });
  }
  const isMap = (value: unknown) => typeof value === 'object' && value !== null && !Array.isArray(value);
  if (lock?.schema !== SCHEMA || !isMap(lock.files) || (lock.listings !== undefined && !isMap(lock.listings))) {
    throw new SidebundleError('LOCK_INVALID', `${file} is not a ${SCHEMA} file`, { input: file, kind: 'input', hint: 'delete it; the trace target writes it again' });
  }
  return lock;
}

export function isInside(p: string, dir: string): boolean {
  return p === dir || p.startsWith(dir.endsWith('/') ? dir : `${dir}/`);
}

/** Inside the workspace (Nx hashes it) or one of the directories above it (where it is checked out). */
export function inWorkspaceOrAbove(p: string, workspaceRoot: string): boolean {
  return isInside(p, workspaceRoot) || isInside(workspaceRoot, p);
}
