// Several closures of one root as one: the traced runs of a group, the families' collections, and
// what tracing and collecting found together. Files and links by path (a file's reasons united),
// excluded files once each, diagnostics once per message.
import type { ExcludedFile, ResolvedClosure } from '../model/closure';

/** The closures as one (one closure is returned as it is). */
export function unionOf(root: string, closures: ResolvedClosure[]): ResolvedClosure {
  if (closures.length === 1) return closures[0]!;
  const out = emptyClosure(root);
  const files = new Map<string, ResolvedClosure['files'][number]>();
  const links = new Map<string, ResolvedClosure['symlinks'][number]>();
  const dirs = new Set<string>();
  const extras = new Map<string, Set<string>>();
  for (const c of closures) {
    for (const f of c.files) {
      const known = files.get(f.path);
      if (known) known.reasons.push(...f.reasons.filter((r) => !known.reasons.some((k) => JSON.stringify(k) === JSON.stringify(r))));
      else files.set(f.path, { ...f, reasons: [...f.reasons] });
    }
    for (const l of c.symlinks) links.set(l.path, l);
    for (const d of c.dirs ?? []) dirs.add(d);
    for (const e of c.libraryPathExtras ?? []) {
      const set = extras.get(e.entry) ?? new Set<string>();
      e.dirs.forEach((d) => set.add(d));
      extras.set(e.entry, set);
    }
    out.missing.push(...c.missing);
    out.excluded.push(...c.excluded);
    for (const d of c.diagnostics) if (!out.diagnostics.some((x) => x.message === d.message)) out.diagnostics.push(d);
  }
  const byPath = <T extends { path: string }>(a: T, b: T) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
  out.files = [...files.values()].sort(byPath);
  out.symlinks = [...links.values()].sort(byPath);
  out.excluded = dedupeExcluded(out.excluded);
  if (dirs.size) out.dirs = [...dirs].sort();
  if (extras.size) out.libraryPathExtras = [...extras].map(([entry, set]) => ({ entry, dirs: [...set] })).sort((a, b) => (a.entry < b.entry ? -1 : 1));
  return out;
}

/** A closure of `root` with nothing in it. */
export function emptyClosure(root: string): ResolvedClosure {
  return { schema: 'sidebundle/closure@1', root, entries: [], files: [], symlinks: [], missing: [], excluded: [], diagnostics: [] };
}

/** Each excluded path once (the first reason given for it), by path. */
export function dedupeExcluded(list: ExcludedFile[]): ExcludedFile[] {
  const seen = new Map<string, ExcludedFile>();
  for (const e of list) if (!seen.has(e.path)) seen.set(e.path, e);
  return [...seen.values()].sort((a, b) => (a.path < b.path ? -1 : 1));
}
