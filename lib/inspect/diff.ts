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
  /** Sum of file sizes, before and after (data/ counted once per content). */
  bytes: { before: number; after: number };
}

// data/<sha256> names content, not a path a reviewer cares about: a changed payload file says
// the same, and would otherwise appear as one removal and one addition each time.
const listed = (manifest: Manifest) => new Map([...expectedFiles(manifest)].filter(([p]) => !p.startsWith('data/')));

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
  for (const f of [...manifest.files, ...(manifest.traced_files ?? [])]) {
    if (seen.has(f.sha256)) continue;
    seen.add(f.sha256);
    total += f.size;
  }
  return total + manifest.launchers.reduce((n, l) => n + l.size, 0);
}
