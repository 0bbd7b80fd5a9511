// The production dependency closure of a Node package, read from npm's package-lock.json
// (lockfileVersion 2 and 3: the flat "packages" map keyed by install location) or, with no lock,
// from the package.json files under node_modules. Walked like Node resolves: a dependency named
// by the package at `a/node_modules/b` is looked for in `a/node_modules/b/node_modules/NAME`,
// then upwards. `dependencies`, `optionalDependencies` and required `peerDependencies` are
// followed, `devDependencies` never; what the lock flags `dev: true` is never taken, and an
// optional dependency that is not installed (another platform's binary) is skipped. Pure: the
// lock and the package manifests come in through `PackageSource`.

import { lexicalPath } from '../util/lexical-path';

/** One installed package as the lock (or its package.json) describes it. */
export interface LockPackage {
  name?: string;
  version?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  dev?: boolean;
  optional?: boolean;
  /** A symlink (a workspace package): `resolved` is the location of its target. */
  link?: boolean;
  resolved?: string;
}

export interface PackageLock {
  lockfileVersion?: number;
  packages?: Record<string, LockPackage>;
}

/** Where the closure's packages come from: a lock's map, or manifests read on demand. */
export interface PackageSource {
  /** The package installed at `location` (relative to the lock's directory, '' the root). */
  at(location: string): LockPackage | undefined;
  /** Whether the location exists on disk (an optional package may be in the lock only). */
  installed(location: string): boolean;
  /** Every location the source knows (a lock's keys); undefined when it cannot list them. */
  locations?(): string[];
}

/** A package of the closure: where it is installed and who it is. */
export interface ClosurePackage {
  /** Relative to the lock's directory: node_modules/ms, node_modules/a/node_modules/b, packages/x. */
  location: string;
  name: string;
  version: string;
  /** A workspace package: reached through the link at `linkedFrom` (node_modules/NAME). */
  linkedFrom?: string;
}

export interface ProductionClosure {
  packages: ClosurePackage[];
  /** Names asked for that are nowhere installed (and not optional): the app will fail on them. */
  unresolved: Array<{ name: string; from: string }>;
  /** Packages the walk reached that the lock flags as dev: left out. */
  devSkipped: string[];
}

/** The packages `start` (a location, '' for the lock's root package) needs at run time. */
export function productionClosure(source: PackageSource, start = ''): ProductionClosure {
  const out = new Map<string, ClosurePackage>();
  const unresolved: ProductionClosure['unresolved'] = [];
  const devSkipped = new Set<string>();
  const queue: string[] = [start];
  const visited = new Set<string>([start]);
  while (queue.length > 0) {
    const location = queue.shift()!;
    const pkg = source.at(location);
    if (!pkg) continue;
    for (const [name, optional] of wantedBy(pkg)) {
      const found = findInstalled(source, location, name);
      if (found === undefined) {
        if (!optional) unresolved.push({ name, from: location || '(root)' });
        continue;
      }
      let target = found;
      const dep = source.at(found)!;
      if (dep.link && dep.resolved !== undefined) target = lexicalPath(dep.resolved);
      const targetPkg = source.at(target);
      if (targetPkg?.dev === true || dep.dev === true) {
        devSkipped.add(found);
        continue;
      }
      if (visited.has(target)) continue;
      visited.add(target);
      out.set(target, {
        location: target,
        name: targetPkg?.name ?? name,
        version: targetPkg?.version ?? dep.version ?? '0.0.0',
        ...(target !== found ? { linkedFrom: found } : {}),
      });
      queue.push(target);
    }
  }
  const packages = [...out.values()].sort((a, b) => (a.location < b.location ? -1 : 1));
  return { packages, unresolved, devSkipped: [...devSkipped].sort() };
}

/** The dependency names a package needs at run time, each with whether it may be absent. */
function wantedBy(pkg: LockPackage): Array<[string, boolean]> {
  const out = new Map<string, boolean>();
  for (const name of Object.keys(pkg.dependencies ?? {})) out.set(name, false);
  for (const name of Object.keys(pkg.optionalDependencies ?? {})) out.set(name, true);
  for (const name of Object.keys(pkg.peerDependencies ?? {})) {
    if (!out.has(name)) out.set(name, pkg.peerDependenciesMeta?.[name]?.optional === true);
  }
  return [...out].sort(([a], [b]) => (a < b ? -1 : 1));
}

/** Node's lookup: NAME in LOCATION/node_modules, then in each enclosing node_modules. */
function findInstalled(source: PackageSource, location: string, name: string): string | undefined {
  let dir = location;
  for (;;) {
    const candidate = dir === '' ? `node_modules/${name}` : `${dir}/node_modules/${name}`;
    if (source.at(candidate) !== undefined && source.installed(candidate)) return candidate;
    if (dir === '') return undefined;
    const at = dir.lastIndexOf('/node_modules/');
    // A workspace package (packages/x) falls back to the root's node_modules, like Node does.
    dir = at < 0 ? '' : dir.slice(0, at);
  }
}

/** A lock's packages as a source; `installed` is asked of the disk. */
export function lockSource(lock: PackageLock, installed: (location: string) => boolean): PackageSource | undefined {
  if (!lock.packages || typeof lock.packages !== 'object') return undefined;
  const packages = lock.packages;
  return {
    at: (location) => (Object.prototype.hasOwnProperty.call(packages, location) ? packages[location] : undefined),
    installed,
    locations: () => Object.keys(packages),
  };
}

/** Workspace packages: locations outside any node_modules (packages/x), not the root. */
export function workspaceLocations(source: PackageSource): string[] {
  return (source.locations?.() ?? []).filter((l) => l !== '' && !l.startsWith('node_modules/') && !l.includes('/node_modules/')).sort();
}

/** Without a lock: each location's package.json (read on demand; undefined when absent). */
export function manifestSource(readManifest: (location: string) => LockPackage | undefined): PackageSource {
  const memo = new Map<string, LockPackage | undefined>();
  const at = (location: string) => {
    if (!memo.has(location)) memo.set(location, readManifest(location));
    return memo.get(location);
  };
  return { at, installed: (location) => at(location) !== undefined };
}
