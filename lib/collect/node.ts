// Node.js: a script entry run by node (`#!/usr/bin/env node`, or a .js file without #!) gets its
// app (the package it belongs to, or in an Nx workspace its project or build output directory:
// every file but node_modules and dot-directories) and the app's production dependency closure
// from the nearest package-lock.json with node_modules beside it, the workspace root's in a
// monorepo (npm-lock.ts; docs/node-apps.md has the rules): each package whole but for what only
// its development needs (node-package.ts), native addons (*.node, ELF shared objects) resolved
// with their library closures like any library, and prebuilt addons only for linux-x64. ESM or
// CommonJS makes no difference here: both are files, found by the same node_modules lookup.
// Dynamic require()/import() of files no manifest names is the trace's to catch.
import * as path from 'node:path';

import type { Diagnostic, Reason } from '../model/closure';
import { collected, type Addition, type CollectFamily, type CollectInput, type FamilyResult, type PartSummary } from './family';
import { prebuildPlatform, prunedAs, type Pruned } from './node-package';
import { lockSource, manifestSource, productionClosure, workspaceLocations, type LockPackage, type PackageLock, type PackageSource, type ProductionClosure } from './npm-lock';
import { importedPackages } from './node-imports';
import { isDir, isFile, listTree, readText } from './tree';

const FAMILY = 'node';
const LOCKS = ['npm-shrinkwrap.json', 'package-lock.json'];
/** A directory holding one of these is a workspace's or repository's root. */
const BOUNDARIES = ['nx.json', '.git', '.hg', '.svn'];
/** The parts of the size report. */
export const NODE_PARTS = { runtime: 'node binary', app: 'app', dependencies: 'dependencies', addons: 'addons' } as const;

export const nodeFamily: CollectFamily = { name: FAMILY, detect };

/** node, nodejs, node20: the names a Node.js binary goes by. */
export function isNodeBinary(file: string): boolean {
  return /^(node|nodejs)(\d+(\.\d+)*)?$/.test(path.posix.basename(file));
}

function detect(input: CollectInput): FamilyResult {
  const additions: Addition[] = [];
  const diagnostics: Diagnostic[] = [];
  const present: PartSummary[] = [];
  const apps = new Set<string>();
  const runtimes = new Set<string>();
  for (const entry of input.entries) {
    if (entry.kind !== 'script' || !entry.script || !isNodeBinary(entry.script.interpreter)) continue;
    runtimes.add(entry.script.interpreter);
    const app = appDirOf(input, entry.target);
    if (apps.has(app.dir)) continue;
    apps.add(app.dir);
    const found = appOf(input, app);
    additions.push(...found.additions);
    diagnostics.push(...found.diagnostics);
  }
  for (const runtime of [...runtimes].sort()) present.push(runtimeSize(input, runtime));
  return { additions, diagnostics, ...(present.length ? { present } : {}) };
}

/** Where an app starts: its directory, and whether a package.json there declares its needs. */
interface AppDir {
  dir: string;
  manifest: boolean;
}

/**
 * The app a script belongs to: the nearest directory at or above it with a package.json, or,
 * inside an Nx workspace, with a project.json. An Nx workspace's own package.json lists what
 * every project needs (and Nx's tooling): an entry below it with neither file on the way (a
 * build output, dist/apps/x/main.js) is an app of its own directory, whose imports say what it
 * needs. The walk stops at a version-control root.
 */
export function appDirOf(input: Pick<CollectInput, 'fs'>, file: string): AppDir {
  const own = path.posix.dirname(file);
  for (let dir = own; ; dir = path.posix.dirname(dir)) {
    const nx = isFile(input.fs, `${dir}/nx.json`);
    if (isFile(input.fs, `${dir}/package.json`) && (!nx || dir === own)) return { dir, manifest: true };
    if (nx || dir === '/' || isBoundary(input, dir)) return { dir: own, manifest: false };
    if (isFile(input.fs, `${dir}/project.json`)) return { dir, manifest: false };
  }
}

/** A workspace's or repository's root: no lockfile or node_modules above it belongs to it. */
function isBoundary(input: Pick<CollectInput, 'fs'>, dir: string): boolean {
  return BOUNDARIES.some((name) => input.fs.resolve(`${dir === '/' ? '' : dir}/${name}`) !== null);
}

function appOf(input: CollectInput, app: AppDir): FamilyResult {
  const appDir = app.dir;
  const diagnostics: Diagnostic[] = [];
  const manifest = app.manifest ? readJson<LockPackage>(input, `${appDir}/package.json`) : undefined;
  const label = manifest?.name ? `${manifest.name}${manifest.version ? `@${manifest.version}` : ''}` : path.posix.basename(appDir);
  const { lockDir, source: installed, lockFile } = sourceOf(input, appDir);
  // Workspace packages are dependencies like others: shipped (pruned) only when the app needs them.
  const workspaces = workspaceLocations(installed).map((l) => path.posix.relative(appDir, `${lockDir === '/' ? '' : lockDir}/${l}`)).filter((r) => !r.startsWith('..'));
  const additions = appFiles(input, appDir, collected(FAMILY, `node app ${label}`), workspaces);
  if (!lockFile && manifest && Object.keys({ ...manifest.dependencies, ...manifest.optionalDependencies }).length > 0) {
    diagnostics.push({ level: 'info', code: 'COLLECT_NODE_NO_LOCK', message: `node: ${appDir} has no package-lock.json; its dependencies are read from node_modules/*/package.json`, input: appDir });
  }
  const start = path.posix.relative(lockDir, appDir);
  const own = installed.at(start) === undefined ? ownNeeds(input, app, manifest, additions) : undefined;
  if (own?.imports) {
    diagnostics.push({ level: 'info', code: 'COLLECT_NODE_IMPORTS', message: `node: ${appDir} has no package.json of its own; its dependencies are the packages its files import: ${own.imports.join(', ') || 'none'}`, input: appDir });
  }
  const closure = productionClosure(own ? appInstalledAt(installed, start, own.needs) : installed, start);
  for (const missing of closure.unresolved) {
    diagnostics.push({ level: 'warning', code: 'COLLECT_NODE_MISSING', message: `node: ${missing.name}, a dependency of ${missing.from === (start || '(root)') ? label : missing.from}, is not installed under ${lockDir} (run npm install before bundling)`, input: lockDir });
  }
  const shipped = closureFiles(input, closure, { lockDir, label, appDir, ...(lockFile ? { lockFile } : {}) });
  additions.push(...shipped.additions);
  diagnostics.push(...shipped.diagnostics);
  return { additions, diagnostics };
}

/** The closure's packages, pruned, with what pruning left out (info diagnostics). */
function closureFiles(input: CollectInput, closure: ProductionClosure, where: { lockDir: string; label: string; appDir: string; lockFile?: string }): FamilyResult {
  const { lockDir, label, appDir, lockFile } = where;
  const additions: Addition[] = [];
  const diagnostics: Diagnostic[] = [];
  const pruned = { dev: { files: 0, bytes: 0 }, build: { files: 0, bytes: 0 }, prebuild: { files: 0, bytes: 0, platforms: new Set<string>() } };
  for (const pkg of closure.packages) {
    const dir = `${lockDir === '/' ? '' : lockDir}/${pkg.linkedFrom ?? pkg.location}`;
    const id = `${pkg.name}@${pkg.version}`;
    const options = { addon: isFile(input.fs, `${dir}/binding.gyp`), whole: input.policy === 'full' };
    const dependency = collected(FAMILY, `node dependency ${id}`);
    const addon = collected(FAMILY, `node addon ${id}`);
    // Nested node_modules hold packages of their own (in the closure or not).
    for (const e of listTree(input.fs, dir, (rel, d) => d && (rel === 'node_modules' || rel.endsWith('/node_modules') || rel === '.bin'))) {
      const verdict: Pruned = prunedAs(e.relative, options);
      if (verdict !== undefined) {
        pruned[verdict].files++;
        pruned[verdict].bytes += e.size;
        if (verdict === 'prebuild') pruned.prebuild.platforms.add(prebuildPlatform(e.relative)!);
        continue;
      }
      const isAddon = e.relative.endsWith('.node');
      additions.push({ path: e.path, reason: isAddon ? addon : dependency, part: isAddon ? NODE_PARTS.addons : NODE_PARTS.dependencies });
    }
  }
  const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;
  if (closure.packages.length > 0) {
    diagnostics.push({
      level: 'info',
      code: 'COLLECT_NODE_PRUNED',
      message: `node ${label}: ${closure.packages.length} production packages${lockFile ? ` from ${lockFile}` : ''}` +
        `${closure.devSkipped.length ? `, ${closure.devSkipped.length} dev-only left out` : ''}; left out ${pruned.dev.files} files (${mib(pruned.dev.bytes)}) of tests, docs, type declarations and source maps` +
        `${input.policy === 'full' ? '' : ' (--collect full keeps them)'}, ${pruned.build.files} addon build files (${mib(pruned.build.bytes)})`,
      input: appDir,
    });
  }
  if (pruned.prebuild.files > 0) {
    diagnostics.push({
      level: 'info',
      code: 'COLLECT_NODE_PREBUILDS',
      message: `node ${label}: left out prebuilt addons for ${[...pruned.prebuild.platforms].sort().join(', ')}: ${pruned.prebuild.files} files, ${mib(pruned.prebuild.bytes)} saved (only linux-x64 is kept)`,
      input: appDir,
    });
  }
  return { additions, diagnostics };
}

/**
 * What an app the lock does not list needs (an Nx project under apps/x, a build output under
 * dist/): its package.json's dependencies, else the packages its JavaScript files import,
 * found in the node_modules of the lock's directory as Node would find them.
 */
function ownNeeds(input: CollectInput, app: AppDir, manifest: LockPackage | undefined, files: Addition[]): { needs: LockPackage; imports?: string[] } {
  if (app.manifest) return { needs: manifest ?? {} };
  const imports = new Set<string>();
  for (const file of files) {
    if (!/\.[cm]?js$/.test(file.path)) continue;
    for (const name of importedPackages(readText(input.fs, file.path) ?? '')) imports.add(name);
  }
  const names = [...imports].sort();
  // Optional: a require() in a try block, or of a package only another platform installs.
  return { needs: { optionalDependencies: Object.fromEntries(names.map((n) => [n, '*'])) }, imports: names };
}

/**
 * The installed packages with the app at `start`. The lock's dev flags say what the lock's own
 * root needs; an app beside it may need at run time what the root only develops with (an Nx
 * workspace's root lists many projects' packages under devDependencies), so they are dropped.
 */
function appInstalledAt(source: PackageSource, start: string, needs: LockPackage): PackageSource {
  return {
    at: (location) => {
      if (location === start) return { dependencies: needs.dependencies, optionalDependencies: needs.optionalDependencies, peerDependencies: needs.peerDependencies, peerDependenciesMeta: needs.peerDependenciesMeta };
      const pkg = source.at(location);
      return pkg && { ...pkg, dev: undefined };
    },
    installed: (location) => source.installed(location),
    ...(source.locations ? { locations: () => source.locations!() } : {}),
  };
}

/** The app's own files: everything but node_modules, dot-directories, workspace packages and
 * excluded trees. */
function appFiles(input: CollectInput, appDir: string, reason: Reason & { kind: 'collected' }, workspaces: string[]): Addition[] {
  const excluded = [...(input.exclude ?? []).filter((d) => d === appDir || d.startsWith(`${appDir}/`)).map((d) => path.posix.relative(appDir, d)), ...workspaces];
  if (excluded.includes('')) return [];
  const skip = (rel: string, isDirectory: boolean) => {
    if (!isDirectory) return false;
    const name = rel.slice(rel.lastIndexOf('/') + 1);
    return name === 'node_modules' || name.startsWith('.') || excluded.includes(rel);
  };
  return listTree(input.fs, appDir, skip).map((e) => ({ path: e.path, reason, part: NODE_PARTS.app }));
}

/**
 * The lock that covers the app: the nearest at or above it whose packages are installed there
 * (a lock an Nx build writes beside its output has no node_modules: the workspace root's is the
 * one). Without one, the package.json files under the nearest node_modules. Not above a
 * workspace's or repository's root.
 */
function sourceOf(input: CollectInput, appDir: string): { lockDir: string; source: PackageSource; lockFile?: string } {
  const installed = (base: string) => (location: string) => isDir(input.fs, location === '' ? base : `${base === '/' ? '' : base}/${location}`);
  const dirs: string[] = [];
  for (let dir = appDir; ; dir = path.posix.dirname(dir)) {
    dirs.push(dir);
    if (dir === '/' || isBoundary(input, dir)) break;
  }
  for (const dir of dirs) {
    for (const name of LOCKS) {
      const file = `${dir === '/' ? '' : dir}/${name}`;
      const lock = isFile(input.fs, file) ? readJson<PackageLock>(input, file) : undefined;
      const source = lock ? lockSource(lock, installed(dir)) : undefined;
      if (source && (installed(dir)('node_modules') || !source.locations!().some((l) => l.startsWith('node_modules/')))) return { lockDir: dir, source, lockFile: file };
    }
  }
  const base = dirs.find((dir) => installed(dir)('node_modules')) ?? appDir;
  const source = manifestSource((location) => readJson<LockPackage>(input, `${base === '/' ? '' : base}${location === '' ? '' : `/${location}`}/package.json`));
  return { lockDir: base, source };
}

/** The node binary and the libraries it needs (already in the bundle: the report's first part). */
function runtimeSize(input: CollectInput, runtime: string): PartSummary {
  const byPath = new Map(input.files.map((f) => [f.path, f]));
  const seen = new Set<string>([runtime]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const f of input.files) {
      if (seen.has(f.path)) continue;
      if (f.reasons.some((r) => r.kind === 'needed' && seen.has(r.by))) {
        seen.add(f.path);
        grew = true;
      }
    }
  }
  const files = [...seen].map((p) => byPath.get(p)).filter((f) => f !== undefined);
  return { part: NODE_PARTS.runtime, files: files.length, bytes: files.reduce((n, f) => n + (f.size ?? 0), 0) };
}

function readJson<T>(input: CollectInput, file: string): T | undefined {
  const text = readText(input.fs, file);
  if (text === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as T) : undefined;
  } catch {
    return undefined;
  }
}
