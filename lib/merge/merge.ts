// The merge step: closures (one or more roots) → one MergedPlan. Files with the same content are
// stored once by the packager (lib/package/layout.ts); each root gets its own payload tree so that two
// roots (the host and an image, or two images with different glibc) never clobber each other,
// and every launcher runs with the loader and libraries of its own root. Pure: no I/O.
import * as path from 'node:path';

import { SidebundleError } from '../errors';
import { environmentFor, execMirror } from './env-rules';
import { withNodeExecPath } from './node-exec-path';
import type { ResolvedClosure, ResolvedEntry } from '../model/closure';
import type { Conflict, LaunchArg, LauncherPlan, MergedPlan, PlanFile, PlanRoot, PlanSymlink } from '../model/plan';
import { validateBundleName, validateEntryName, validateEnvName } from '../model/names';
import { ancestorsOf } from '../util/lexical-path';

export interface MergeOptions {
  /** Bundle name (directory name under the output directory). */
  name: string;
  closures: ResolvedClosure[];
  /** Environment set by every launcher (--set-env). */
  setEnv?: Record<string, string>;
}

/** glibc's ld.so accepts --argv0 since 2.33. */
const ARGV0_SINCE = [2, 33];

type PlacedLauncher = LauncherPlan & { root: string; target: string };

/** What merging gathers from the closures before it becomes a plan. */
interface Gathered {
  roots: PlanRoot[];
  files: Map<string, PlanFile>;
  symlinks: Map<string, PlanSymlink>;
  dirs: Set<string>;
  extraLibraryPath: Array<{ payload: string; entry: string; dirs: string[] }>;
  launchers: Map<string, PlacedLauncher>;
}

export function mergeClosures(options: MergeOptions): MergedPlan {
  validateBundleName(options.name);
  const setEnv = options.setEnv ?? {};
  for (const key of Object.keys(setEnv)) validateEnvName(key, 'setEnv');
  const gathered: Gathered = { roots: [], files: new Map(), symlinks: new Map(), dirs: new Set(), extraLibraryPath: [], launchers: new Map() };
  const plan: MergedPlan = {
    schema: 'sidebundle/plan@1',
    name: options.name,
    roots: gathered.roots,
    files: [],
    symlinks: [],
    dirs: [],
    launchers: [],
    shims: [],
    missing: [],
    excluded: [],
    conflicts: [],
    diagnostics: [],
  };
  for (const closure of options.closures) {
    const payload = payloadOf(gathered.roots, closure.root, closure.source);
    addFiles(gathered, closure, payload);
    addLaunchers(gathered.launchers, closure, payload, setEnv);
    plan.missing.push(...closure.missing.map((m) => ({ ...m, root: closure.root })));
    plan.excluded.push(...closure.excluded.map((e) => ({ ...e, root: closure.root })));
    for (const d of closure.diagnostics) {
      if (!plan.diagnostics.some((x) => x.code === d.code && x.message === d.message)) plan.diagnostics.push(d);
    }
  }
  checkPathsAreOneThing(gathered);
  for (const launcher of gathered.launchers.values()) finishLauncher(launcher, gathered, setEnv, plan.shims);
  plan.shims.sort(byPath);
  plan.conflicts = findConflicts(options.closures, gathered.roots);
  plan.dirs = [...gathered.dirs].sort();
  plan.files = [...gathered.files.values()].sort(byPath);
  plan.symlinks = [...gathered.symlinks.values()].sort(byPath);
  plan.launchers = [...gathered.launchers.values()]
    .map(({ root: _root, target: _target, ...launcher }) => launcher)
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return plan;
}

/** The payload directory of a root: `payload` for the first, `payload-N` for the N-th. */
function payloadOf(roots: PlanRoot[], root: string, source: string | undefined): string {
  let entry = roots.find((r) => r.root === root);
  if (!entry) {
    entry = { root, ...(source ? { source } : {}), payload: roots.length === 0 ? 'payload' : `payload-${roots.length + 1}` };
    roots.push(entry);
  }
  return entry.payload;
}

/** A closure's files, symlinks, listed directories and library-path extras, under its payload. */
function addFiles(gathered: Gathered, closure: ResolvedClosure, payload: string): void {
  for (const file of closure.files) {
    const bundlePath = `${payload}${file.path}`;
    const existing = gathered.files.get(bundlePath);
    if (existing) {
      if (existing.sha256 !== file.sha256) {
        throw new SidebundleError('PLAN_CONFLICT', `${file.path} in ${closure.root} changed while the bundle was being planned (two different digests)`, {
          input: file.path,
          hint: 'run again once the files stop changing',
        });
      }
      for (const reason of file.reasons) {
        if (!existing.reasons.some((r) => JSON.stringify(r) === JSON.stringify(reason))) existing.reasons.push(reason);
      }
      continue;
    }
    gathered.files.set(bundlePath, {
      path: bundlePath,
      source: path.join(closure.root, file.from ?? file.path),
      sha256: file.sha256,
      size: file.size,
      mode: file.mode,
      kind: file.kind,
      ...(file.elf?.interpreter ? { interpreter: file.elf.interpreter } : {}),
      reasons: [...file.reasons],
    });
  }
  for (const dir of closure.dirs ?? []) gathered.dirs.add(`${payload}${dir}`);
  for (const extra of closure.libraryPathExtras ?? []) gathered.extraLibraryPath.push({ payload, ...extra });
  for (const link of closure.symlinks) {
    const bundlePath = `${payload}${link.path}`;
    gathered.symlinks.set(bundlePath, { path: bundlePath, target: confinedTarget(link.path, link.target) });
  }
}

/** A launcher per entry of the closure; the same name for another program is an error. */
function addLaunchers(launchers: Map<string, PlacedLauncher>, closure: ResolvedClosure, payload: string, setEnv: Record<string, string>): void {
  for (const entry of closure.entries) {
    validateEntryName(entry.name, entry.path); // closures may come from the API or a cache file
    const launcher = launcherFor(entry, payload, setEnv);
    const existing = launchers.get(entry.name);
    if (existing) {
      if (existing.root === closure.root && existing.target === entry.target) continue;
      throw new SidebundleError('ENTRY_NAME_CONFLICT', `two entries are named ${entry.name} (${existing.target} in ${existing.root}, ${entry.target} in ${closure.root})`, {
        input: entry.path,
        kind: 'input',
        hint: 'each entry gets a launcher bin/<name>; bundle programs with different names',
      });
    }
    launchers.set(entry.name, { ...launcher, root: closure.root, target: entry.target });
  }
}

/**
 * Every path of the bundle is one thing: not a file and a symlink, and no file or symlink with
 * something below it (a --copy-dir destination over a program's file, or a copied tree's
 * directory where a program's file is). Staging would fail there, and blame the output directory.
 */
function checkPathsAreOneThing(gathered: Gathered): void {
  const conflict = (message: string, input: string) =>
    new SidebundleError('PLAN_CONFLICT', message, { input, kind: 'input', hint: 'a --copy-dir destination overlaps the files of a program or of another --copy-dir; choose another destination' });
  for (const link of gathered.symlinks.keys()) {
    if (gathered.files.has(link)) throw conflict(`${link} is both a file and a symlink in the bundle`, link);
  }
  const what = (p: string) => {
    const file = gathered.files.get(p);
    const copied = file?.reasons.find((r) => r.kind === 'copy-dir');
    return copied?.kind === 'copy-dir' ? `copied from ${copied.source} by --copy-dir` : file ? 'a file' : gathered.symlinks.has(p) ? 'a symlink' : 'a directory';
  };
  for (const below of [...gathered.files.keys(), ...gathered.symlinks.keys(), ...gathered.dirs]) {
    for (const above of ancestorsOf(below)) {
      if (!gathered.files.has(above) && !gathered.symlinks.has(above)) continue;
      throw conflict(`${above} is ${what(above)} of the bundle, and also a directory: ${below} (${what(below)}) is under it`, above);
    }
  }
}

/** A launcher's library path extras (dlopen'ed by name from a standard directory), its
 * environment, and the mirrors of the directories its program execs from. */
function finishLauncher(launcher: PlacedLauncher, gathered: Gathered, setEnv: Record<string, string>, shims: LauncherPlan[]): void {
  for (const extra of gathered.extraLibraryPath) {
    if (extra.payload !== launcher.payload || extra.entry !== launcher.name || launcher.loader === undefined) continue;
    for (const dir of extra.dirs) {
      const bundleDir = `${extra.payload}${dir}`;
      if (!launcher.libraryPath!.includes(bundleDir)) launcher.libraryPath!.push(bundleDir);
    }
  }
  const payloadFiles = new Set<string>();
  for (const file of gathered.files.keys()) if (file.startsWith(`${launcher.payload}/`)) payloadFiles.add(file.slice(launcher.payload.length));
  const rules = environmentFor(launcher, payloadFiles);
  launcher.hostEnv = rules.env;
  if (Object.keys(rules.rootEnv).length > 0) launcher.rootEnv = rules.rootEnv;
  launcher.env = { ...setEnv };
  for (const { dir } of rules.execDirs) mirrorExecDir(launcher, dir, gathered.files, gathered.symlinks, shims);
  withNodeExecPath(launcher, shims);
}

/**
 * exec/<payload><dir>: for each program in the payload directory a launcher that runs it with
 * the bundled loader and `owner`'s library path and environment; everything else there (scripts,
 * data) a link to the payload file.
 */
function mirrorExecDir(owner: LauncherPlan, dir: string, files: Map<string, PlanFile>, symlinks: Map<string, PlanSymlink>, shims: LauncherPlan[]): void {
  const mirror = execMirror(owner.payload, dir);
  const prefix = `${owner.payload}${dir}/`;
  for (const file of files.values()) {
    if (!file.path.startsWith(prefix) || file.path.slice(prefix.length).includes('/')) continue;
    const name = file.path.slice(prefix.length);
    const at = `${mirror}/${name}`;
    if (shims.some((s) => s.path === at) || symlinks.has(at)) continue;
    if (file.kind === 'elf' && file.interpreter !== undefined && owner.loader !== undefined) {
      shims.push({ ...owner, name, path: at, kind: 'elf-dynamic', program: file.path, args: [], helpersOnPath: false, logicalProgram: `${dir}/${name}` });
    } else {
      symlinks.set(at, { path: at, target: path.posix.relative(path.posix.dirname(at), file.path) });
    }
  }
  // Links in the directory (git's hard links are regular files; Debian's git-upload-pack is a
  // symlink to git). One to a sibling points at the sibling's mirror, its launcher: through the
  // payload's link it would reach the bare program, run with the target's loader.
  for (const link of [...symlinks.values()]) {
    if (!link.path.startsWith(prefix) || link.path.slice(prefix.length).includes('/')) continue;
    const at = `${mirror}/${link.path.slice(prefix.length)}`;
    if (!symlinks.has(at) && !shims.some((s) => s.path === at)) {
      const sibling = path.posix.normalize(path.posix.join(path.posix.dirname(link.path), link.target));
      const inDir = sibling.startsWith(prefix) && !sibling.slice(prefix.length).includes('/');
      symlinks.set(at, { path: at, target: inDir ? sibling.slice(prefix.length) : path.posix.relative(path.posix.dirname(at), link.path) });
    }
  }
}

function launcherFor(entry: ResolvedEntry, payload: string, env: Record<string, string>): LauncherPlan {
  const inPayload = (logical: string) => `${payload}${logical}`;
  const args: LaunchArg[] = [];
  let program = inPayload(entry.target);
  if (entry.kind === 'script' && entry.script) {
    program = inPayload(entry.script.interpreter);
    for (const arg of entry.script.args) args.push('path' in arg ? { bundlePath: inPayload(arg.path) } : { literal: arg.literal });
    args.push({ bundlePath: inPayload(entry.target) });
  }
  const launcher: LauncherPlan = {
    name: entry.name,
    path: `bin/${entry.name}`,
    kind: entry.kind,
    program,
    argv0: entry.glibc !== undefined && atLeast(entry.glibc, ARGV0_SINCE),
    args,
    helpersOnPath: entry.usesHelpers === true,
    env: { ...env },
    hostEnv: {},
    payload,
    logicalProgram: entry.kind === 'script' ? entry.script!.interpreter : entry.target,
  };
  if (entry.loader !== undefined) launcher.loader = inPayload(entry.loader);
  if (entry.libraryPath !== undefined) launcher.libraryPath = entry.libraryPath.map(inPayload);
  return launcher;
}

/**
 * A symlink target rewritten to stay inside its payload: resolve it as the root would (absolute
 * targets start at the root, `..` stops there), then express it relative to the link's directory.
 */
export function confinedTarget(linkPath: string, target: string): string {
  const dir = path.posix.dirname(linkPath);
  const absolute = path.posix.resolve(target.startsWith('/') ? '/' : dir, target);
  return path.posix.relative(dir, absolute) || '.';
}

function findConflicts(closures: ResolvedClosure[], roots: PlanRoot[]): Conflict[] {
  if (roots.length < 2) return [];
  const byPath = new Map<string, Map<string, string>>();
  for (const closure of closures) {
    for (const file of closure.files) {
      let perRoot = byPath.get(file.path);
      if (!perRoot) byPath.set(file.path, (perRoot = new Map()));
      perRoot.set(closure.root, file.sha256);
    }
  }
  const conflicts: Conflict[] = [];
  for (const [logical, perRoot] of [...byPath].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (new Set(perRoot.values()).size < 2) continue;
    conflicts.push({
      path: logical,
      roots: [...perRoot].map(([root, sha256]) => ({ root, sha256, payload: roots.find((r) => r.root === root)!.payload })),
      resolution: 'kept apart: each root has its own payload directory, and each launcher uses its own',
    });
  }
  return conflicts;
}

function atLeast(version: string, minimum: number[]): boolean {
  const parts = version.split('.').map(Number);
  for (let i = 0; i < minimum.length; i++) {
    if ((parts[i] ?? 0) !== minimum[i]) return (parts[i] ?? 0) > minimum[i]!;
  }
  return true;
}

function byPath<T extends { path: string }>(a: T, b: T): number {
  return a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
}
