// Node.js: a script entry run by node (`#!/usr/bin/env node`) gets its app (the package it
// belongs to: every file but node_modules and dot-directories) and the app's production
// dependency closure from package-lock.json (npm-lock.ts): each package whole but for what only
// its development needs (node-package.ts), native addons (*.node, ELF shared objects) resolved
// with their library closures like any library, and prebuilt addons only for linux-x64. ESM or
// CommonJS makes no difference here: both are files, found by the same node_modules lookup.
// Dynamic require()/import() of files no manifest names is the trace's to catch.
import * as path from 'node:path';

import type { Diagnostic, Reason } from '../model/closure';
import { collected, type Addition, type CollectFamily, type CollectInput, type FamilyResult, type PartSummary } from './family';
import { prebuildPlatform, prunedAs, type Pruned } from './node-package';
import { lockSource, manifestSource, productionClosure, workspaceLocations, type LockPackage, type PackageLock, type PackageSource } from './npm-lock';
import { isDir, isFile, listTree, readText } from './tree';

const FAMILY = 'node';
const LOCKS = ['npm-shrinkwrap.json', 'package-lock.json'];
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
    const appDir = packageDirOf(input, entry.target) ?? path.posix.dirname(entry.target);
    if (apps.has(appDir)) continue;
    apps.add(appDir);
    const app = appOf(input, appDir);
    additions.push(...app.additions);
    diagnostics.push(...app.diagnostics);
  }
  for (const runtime of [...runtimes].sort()) present.push(runtimeSize(input, runtime));
  return { additions, diagnostics, ...(present.length ? { present } : {}) };
}

/** The nearest directory at or above `file` holding a package.json. */
function packageDirOf(input: CollectInput, file: string): string | undefined {
  for (let dir = path.posix.dirname(file); dir !== '/'; dir = path.posix.dirname(dir)) {
    if (isFile(input.fs, `${dir}/package.json`)) return dir;
  }
  return undefined;
}

function appOf(input: CollectInput, appDir: string): FamilyResult {
  const diagnostics: Diagnostic[] = [];
  const manifest = readJson<LockPackage>(input, `${appDir}/package.json`);
  const label = manifest?.name ? `${manifest.name}${manifest.version ? `@${manifest.version}` : ''}` : path.posix.basename(appDir);
  const { lockDir, source, lockFile } = sourceOf(input, appDir);
  // Workspace packages are dependencies like others: shipped (pruned) only when the app needs them.
  const workspaces = workspaceLocations(source).map((l) => path.posix.relative(appDir, `${lockDir === '/' ? '' : lockDir}/${l}`)).filter((r) => !r.startsWith('..'));
  const additions = appFiles(input, appDir, collected(FAMILY, `node app ${label}`), workspaces);
  if (!lockFile && manifest && Object.keys({ ...manifest.dependencies, ...manifest.optionalDependencies }).length > 0) {
    diagnostics.push({ level: 'info', code: 'COLLECT_NODE_NO_LOCK', message: `node: ${appDir} has no package-lock.json; its dependencies are read from node_modules/*/package.json`, input: appDir });
  }
  const start = path.posix.relative(lockDir, appDir);
  const closure = productionClosure(source, start);
  for (const missing of closure.unresolved) {
    diagnostics.push({ level: 'warning', code: 'COLLECT_NODE_MISSING', message: `node: ${missing.name}, a dependency of ${missing.from === '(root)' ? label : missing.from}, is not installed under ${lockDir} (run npm install before bundling)`, input: lockDir });
  }
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

/** The lock that covers the app (the nearest at or above it), else its node_modules manifests. */
function sourceOf(input: CollectInput, appDir: string): { lockDir: string; source: PackageSource; lockFile?: string } {
  const installed = (base: string) => (location: string) => isDir(input.fs, location === '' ? base : `${base === '/' ? '' : base}/${location}`);
  for (let dir = appDir; ; dir = path.posix.dirname(dir)) {
    for (const name of LOCKS) {
      const file = `${dir === '/' ? '' : dir}/${name}`;
      const lock = isFile(input.fs, file) ? readJson<PackageLock>(input, file) : undefined;
      const source = lock ? lockSource(lock, installed(dir)) : undefined;
      if (source) return { lockDir: dir, source, lockFile: file };
    }
    if (dir === '/') break;
  }
  const source = manifestSource((location) => readJson<LockPackage>(input, `${appDir}${location === '' ? '' : `/${location}`}/package.json`));
  return { lockDir: appDir, source };
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
