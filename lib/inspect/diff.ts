// `sidebundle diff A B`: two manifests compared path by path (pure: manifests in, changes out):
// added, removed and changed files and symlinks, with sizes and the reasons each is there, and
// the entries that came or went. What a reviewer reads when a rebundle changes in CI.
import type { Manifest } from '../package/manifest';
import { expectedFiles, type Expected } from './manifest-files';

export interface DiffItem {
  path: string;
  kind: 'file' | 'symlink';
  size?: number;
  reasons: string[];
}

export interface ChangedItem {
  path: string;
  /** What changed: content, size, mode, kind, target. */
  changes: string[];
  before: { size?: number; sha256?: string; target?: string };
  after: { size?: number; sha256?: string; target?: string };
  reasons: string[];
}

export interface BundleDiff {
  same: boolean;
  entries: { added: string[]; removed: string[] };
  added: DiffItem[];
  removed: DiffItem[];
  changed: ChangedItem[];
  /** Sum of file sizes, before and after (each content counted once). */
  bytes: { before: number; after: number };
}

// A path stored as a symlink to a same-content file (sameAs) is compared as the file it reads
// as: which path of a content is the stored one is layout, not a change a reviewer cares about.
const listed = (manifest: Manifest) => {
  const out = expectedFiles(manifest);
  for (const f of manifest.files) {
    if (f.sameAs !== undefined) out.set(f.path, { kind: 'file', sha256: f.sha256, size: f.size, mode: f.mode, reasons: out.get(f.path)!.reasons });
  }
  return out;
};

const item = (p: string, e: Expected): DiffItem => ({ path: p, kind: e.kind, ...(e.kind === 'file' ? { size: e.size } : {}), reasons: e.reasons });
const side = (e: Expected) => (e.kind === 'file' ? { size: e.size, sha256: e.sha256 } : { target: e.target });

function changesBetween(a: Expected, b: Expected): string[] {
  if (a.kind !== b.kind) return [`kind (${a.kind} → ${b.kind})`];
  if (a.kind === 'symlink' && b.kind === 'symlink') return a.target === b.target ? [] : [`target (${a.target} → ${b.target})`];
  if (a.kind !== 'file' || b.kind !== 'file') return [];
  const changes: string[] = [];
  if (a.sha256 !== b.sha256) changes.push(a.size === b.size ? 'content' : `content and size (${a.size} → ${b.size} bytes)`);
  if (a.mode !== b.mode) changes.push(`mode (${a.mode} → ${b.mode})`);
  return changes;
}

export function diffManifests(before: Manifest, after: Manifest): BundleDiff {
  const a = listed(before);
  const b = listed(after);
  const paths = [...new Set([...a.keys(), ...b.keys()])].sort();
  const diff: BundleDiff = { same: true, entries: { added: [], removed: [] }, added: [], removed: [], changed: [], bytes: { before: totalBytes(before), after: totalBytes(after) } };
  for (const p of paths) {
    const x = a.get(p);
    const y = b.get(p);
    if (x && !y) diff.removed.push(item(p, x));
    else if (!x && y) diff.added.push(item(p, y));
    else if (x && y) {
      const changes = changesBetween(x, y);
      if (changes.length) diff.changed.push({ path: p, changes, before: side(x), after: side(y), reasons: y.reasons });
    }
  }
  const names = (m: Manifest) => new Set(m.entries.map((e) => e.name));
  const [na, nb] = [names(before), names(after)];
  diff.entries = { added: [...nb].filter((n) => !na.has(n)).sort(), removed: [...na].filter((n) => !nb.has(n)).sort() };
  diff.same = diff.added.length + diff.removed.length + diff.changed.length === 0;
  return diff;
}

function totalBytes(manifest: Manifest): number {
  const seen = new Set<string>();
  let total = 0;
  for (const f of manifest.files) {
    if (seen.has(f.sha256)) continue;
    seen.add(f.sha256);
    total += f.size;
  }
  return total + manifest.launchers.reduce((n, l) => n + l.size, 0);
}
