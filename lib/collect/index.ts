// collect(): what a bundle needs on the paths the trace never took, by what the program is
// (a Python or Perl interpreter, a library in a plugin directory), not by what one run touched.
// Runs after tracing, on the static and traced closures of one root: the traced closure is what
// tells which interpreter ran and which plugin was loaded. Each family names files; they are
// resolved here like traced files (libraries with their closures, links kept) into one more
// closure of the root, merged like the others. Families run in order; each is credited with the
// files it added first (the summary the CLI prints).
import * as os from 'node:os';

import type { DigestMemo } from '../cache/file-digest';
import type { ClosureFile, Diagnostic, ResolvedClosure } from '../model/closure';
import { isUnder } from '../resolve/project';
import { relocateClosure } from '../resolve/relocate';
import { resolveClosure } from '../resolve/resolve';
import { RootFs } from '../resolve/rootfs';
import { tracePolicy, type Exclusion } from '../policy/policy';
import { screener } from '../policy/screen';
import { lexicalPath } from '../util/lexical-path';
import { emptyClosure, unionOf } from '../resolve/union';
import { dpkgIndex } from './dpkg';
import { DEFAULT_COLLECT, DEFAULT_COLLECT_BUDGET_MIB, type CollectPolicy } from '../model/options';
import type { Addition, CollectFamily, CollectInput, PartSummary } from './family';
import { jvmFamily } from './jvm';
import { nodeFamily } from './node';
import { perlFamily } from './perl';
import { pluginDirsFamily } from './plugin-dirs';
import { pythonFamily } from './python';

export * from './family';

/** The families, in the order they are credited. */
export const FAMILIES: readonly CollectFamily[] = [pythonFamily, perlFamily, nodeFamily, jvmFamily, pluginDirsFamily];

export interface CollectOptions {
  policy?: CollectPolicy;
  /** Per plugin directory, MiB (smart only). */
  budgetMiB?: number;
  digests?: DigestMemo;
  families?: readonly CollectFamily[];
  /** Directories nothing is collected from (the output directory). */
  exclude?: string[];
  /** As for the trace policy: paths brought back (--trace-include), secrets allowed
   * (--allow-secret), the user's own directories besides the projects (--copy-dir sources). */
  include?: string[];
  allowSecret?: string[];
  own?: string[];
}

/** What one family added: files new to the bundle and their bytes. */
export interface FamilySummary {
  family: string;
  files: number;
  bytes: number;
  /** Its parts, where the family names them (node: node binary, app, dependencies, addons); a
   * part the bundle had already (the node binary) is not in `files`/`bytes`. */
  parts?: PartSummary[];
}

export interface CollectResult {
  /** The additions as a closure of the same root (empty for `traced`). */
  closure: ResolvedClosure;
  summary: FamilySummary[];
  /** What decided them, as host paths: every path looked up or read (absent ones too) and every
   * directory listed. A file added to a listed directory, or a probed path appearing, may change
   * what is collected: sidebundle.lock lists these for Nx. */
  read: CollectReads;
}

export interface CollectReads {
  paths: string[];
  listings: string[];
}

/** Collect for one root, given its closures (static first, then traced). */
export async function collect(closures: ResolvedClosure[], options: CollectOptions = {}): Promise<CollectResult> {
  const root = closures[0]!.root;
  const policy = options.policy ?? DEFAULT_COLLECT;
  const out = emptyClosure(root);
  if (policy === 'traced' || closures.length === 0) return { closure: out, summary: [], read: { paths: [], listings: [] } };
  const projects = closures.flatMap((c) => c.projects ?? []);
  // Closures name a project's files at their place in the payload; the families read the root.
  const original = (logical: string) => {
    const p = projects.find((x) => isUnder(logical, x.at));
    return p ? `${p.dir}${logical.slice(p.at.length)}` : logical;
  };
  const fs = new RootFs(root);
  const input: CollectInput = {
    fs,
    files: closures.flatMap((c) => c.files.map((f) => ({ ...f, path: f.from ?? original(f.path) }))),
    excluded: closures.flatMap((c) => c.excluded.map((e) => ({ path: original(e.path) }))),
    // Entries too: a family reads the files around a script (its package.json) in the root.
    entries: closures.flatMap((c) => c.entries.map((e) => ({ ...e, target: original(e.target) }))),
    policy,
    budgetBytes: (options.budgetMiB ?? DEFAULT_COLLECT_BUDGET_MIB) * 1024 * 1024,
    packages: dpkgIndex(fs),
    ...(options.exclude ? { exclude: options.exclude } : {}),
  };
  const seen = new Set(input.files.map((f) => f.path));
  // What a family names passes the same screen as what a trace read: a distribution's RECORD or
  // a .packlist may name any path, and a symlink in a collected tree may point at a secret.
  const screen = screener(tracePolicy({
    ...(options.include ? { include: options.include } : {}),
    ...(options.allowSecret ? { allowSecret: options.allowSecret } : {}),
    ...(options.exclude ? { exclude: options.exclude } : {}),
    own: [...projects.map((p) => p.dir), ...(options.own ?? [])],
    home: process.env.HOME ?? os.homedir(),
  }), (p) => fs.hostPath(p));
  const loaderEntry = input.entries.find((e) => e.loader !== undefined);
  const summary: FamilySummary[] = [];
  const parts: ResolvedClosure[] = [];
  const probed: RootFs[] = [fs];
  for (const family of options.families ?? FAMILIES) {
    const found = family.detect(input);
    const additions = found.additions.filter((a) => !seen.has(a.path));
    if (found.libraryDirs?.length) parts.push({ ...emptyClosure(root), libraryPathExtras: [{ entry: family.name, dirs: found.libraryDirs }] });
    if (additions.length === 0) {
      out.diagnostics.push(...(found.additions.length > 0 ? found.diagnostics : found.diagnostics.filter((d) => d.level === 'warning')));
      if (found.present?.length) summary.push({ family: family.name, files: 0, bytes: 0, parts: found.present });
      continue;
    }
    // The family's libraries the bundle has already were loaded first: a library added now may
    // need one of them by name (a run's own libraries satisfy its names, see resolve/closure.ts).
    const loadedBefore = found.additions.filter((a) => seen.has(a.path) && /\.so(\.|$)/.test(a.path)).map((a) => a.path.slice(a.path.lastIndexOf('/') + 1));
    const { closure, dropped, views } = await resolveAdditions(root, additions, loaderEntry, options.digests, loadedBefore);
    probed.push(...views);
    const added = closure.files.filter((f) => !seen.has(f.path) && admitted(f.path, screen, out));
    added.forEach((f) => seen.add(f.path));
    const weighed = [...(found.present ?? []), ...partsOf(added, additions, closure)];
    summary.push({ family: family.name, files: added.length, bytes: added.reduce((n, f) => n + f.size, 0), ...(weighed.length ? { parts: weighed } : {}) });
    out.diagnostics.push(...found.diagnostics, ...dropped);
    parts.push({ ...closure, files: added });
  }
  return { closure: relocateClosure(unite(out, parts, input.entries.filter((e) => e.loader !== undefined).map((e) => e.name)), projects), summary, read: readsOf(probed) };
}

/** Host paths the views probed or read, and the directories they listed. */
function readsOf(views: RootFs[]): CollectReads {
  const paths = new Set<string>();
  const listings = new Set<string>();
  for (const view of views) {
    const { listed, read } = view.reads();
    for (const p of [...view.probes().keys(), ...read]) paths.add(view.hostPath(p));
    for (const d of listed) listings.add(view.hostPath(d));
  }
  return { paths: [...paths].sort(), listings: [...listings].sort() };
}

/** A collected file may go in; one the policy refuses is listed with its reason, and a secret
 * is also a warning (as when a trace reads one). */
function admitted(logical: string, screen: (p: string) => Exclusion | undefined, out: ResolvedClosure): boolean {
  const exclusion = screen(logical);
  if (!exclusion) return true;
  if (!out.excluded.some((e) => e.path === logical)) {
    out.excluded.push({ path: logical, reason: exclusion.reason, ...(exclusion.impact === 'secret' ? { impact: 'secret' as const } : {}) });
    if (exclusion.impact === 'secret') out.diagnostics.push({ level: 'warning', code: 'COLLECT_SECRET', message: `collection leaves out ${logical}: ${exclusion.reason} (to ship it: --allow-secret ${logical})`, input: logical });
  }
  return false;
}

/**
 * Resolve a family's additions like traced files of the entry with a loader. A module whose
 * library the root lacks is left out (with a diagnostic) and the rest resolved again, so the
 * bundle carries no half-usable module and no "missing library" for an optional one.
 */
async function resolveAdditions(root: string, additions: Addition[], entry: { name: string; loader?: string } | undefined, digests?: DigestMemo, loadedBefore: string[] = []): Promise<{ closure: ResolvedClosure; dropped: Diagnostic[]; views: RootFs[] }> {
  const dropped: Diagnostic[] = [];
  const views: RootFs[] = [];
  let remaining = additions;
  for (let pass = 0; ; pass++) {
    const byReason = new Map<string, { reason: Addition['reason']; paths: string[] }>();
    for (const a of remaining) {
      const key = a.reason.what;
      const group = byReason.get(key) ?? { reason: a.reason, paths: [] };
      group.paths.push(a.path);
      byReason.set(key, group);
    }
    const traced = [...byReason.values()].map(({ reason, paths }) => ({
      entry: entry?.name ?? 'collect',
      command: [],
      ...(entry?.loader ? { loader: entry.loader } : {}),
      reason,
      files: paths.map((p) => ({ path: p, ops: ['open' as const], found: true, seenBy: [] })),
      ...(loadedBefore.length ? { loadedBefore } : {}),
    }));
    const { closure, fs } = await resolveClosure({ root, entries: [], traced, ...(digests ? { digests } : {}) });
    views.push(fs);
    const broken = new Map<string, string[]>();
    for (const m of closure.missing) {
      const module = remaining.find((a) => a.droppable !== undefined && sameFile(a.path, m.chain[0]!, closure));
      if (module) broken.set(module.path, [...(broken.get(module.path) ?? []), m.name]);
    }
    // Dropping a module cannot break another: two passes suffice; the bound is a guard.
    if (broken.size === 0 || pass === 3) return { closure, dropped, views };
    for (const [modulePath, libs] of [...broken].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const label = remaining.find((a) => a.path === modulePath)!.droppable!;
      dropped.push({ level: 'info', code: 'COLLECT_MODULE_LEFT_OUT', message: `left out ${label}: it needs ${[...new Set(libs)].sort().join(', ')}, which this machine does not have`, input: modulePath });
    }
    remaining = remaining.filter((a) => !broken.has(a.path));
  }
}

/** The added files by the part of their addition; a library by the part of what needed it. */
function partsOf(added: ClosureFile[], additions: Addition[], closure: ResolvedClosure): PartSummary[] {
  if (!additions.some((a) => a.part !== undefined)) return [];
  const byPath = new Map(closure.files.map((f) => [f.path, f]));
  const partOf = new Map<string, string>();
  for (const a of additions) {
    if (a.part === undefined) continue;
    // A path through a link (a workspace package) names the file at its canonical path.
    const file = byPath.get(a.path) ?? closure.files.find((f) => sameFile(a.path, f.path, closure));
    partOf.set(file?.path ?? a.path, a.part);
  }
  const part = (f: ClosureFile, depth = 0): string => {
    const known = partOf.get(f.path);
    if (known !== undefined || depth > 16) return known ?? 'libraries';
    const by = f.reasons.find((r) => r.kind === 'needed');
    const parent = by?.kind === 'needed' ? byPath.get(by.by) : undefined;
    return parent ? part(parent, depth + 1) : 'libraries';
  };
  const sums = new Map<string, PartSummary>();
  for (const f of added) {
    const name = part(f);
    const sum = sums.get(name) ?? { part: name, files: 0, bytes: 0 };
    sum.files++;
    sum.bytes += f.size;
    sums.set(name, sum);
  }
  return [...sums.values()];
}

/** Whether the addition `requested` is the closure file `canonical` (through links). */
function sameFile(requested: string, canonical: string, closure: ResolvedClosure): boolean {
  if (requested === canonical) return true;
  let p = requested;
  for (let i = 0; i < 40; i++) {
    const link = closure.symlinks.find((l) => p === l.path || p.startsWith(`${l.path}/`));
    if (!link) return false;
    const target = link.target.startsWith('/') ? link.target : `${link.path.slice(0, link.path.lastIndexOf('/'))}/${link.target}`;
    p = lexicalPath(`${target}${p.slice(link.path.length)}`);
    if (p === canonical) return true;
  }
  return false;
}

/** The families' closures as one; library directories found for dlopen go to every entry. */
function unite(out: ResolvedClosure, parts: ResolvedClosure[], entries: string[]): ResolvedClosure {
  const dirs = new Set(parts.flatMap((p) => p.libraryPathExtras ?? []).flatMap((e) => e.dirs));
  const united = unionOf(out.root, [out, ...parts.map(({ libraryPathExtras: _, ...part }) => part)]);
  if (dirs.size > 0 && entries.length > 0) united.libraryPathExtras = entries.sort().map((entry) => ({ entry, dirs: [...dirs].sort() }));
  return united;
}

