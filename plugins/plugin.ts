// Inferred targets: every project with a sidebundle.json (beside its project.json or
// package.json) gets resolve → trace → merge → package targets (and bundle, which depends on them
// all), with inputs that make Nx's cache correct, and outputs Nx can restore; and, where the
// configuration names a registry ("push"), an uncached push target after package. Kept light: no
// engine import here (Nx loads plugins in workers for every project-graph computation).
//
// What enters each hash, by where it lives:
//   workspace files      Nx's own file inputs: for resolve the entries and copied directories
//                        it names, for trace all the project's files (what a traced run may
//                        import), and for resolve the sources (`^default`) and build outputs
//                        (`dependentTasksOutputFiles`) of projects whose outputs are entries.
//                        Such a task is hashed after those builds ran, so it sees fresh outputs.
//                        A Node app's trace (where collection reads node_modules) also hashes
//                        the root's package-lock.json and its build's output (its own build
//                        target runs first when an entry lies in what it writes).
//   files outside it     `sidebundle digest` (a runtime input): for resolve, what resolving reads
//                        (libraries, ld.so.cache, absent paths probed); for trace (`--traced`),
//                        what the committed sidebundle.lock lists (files traced runs read, what
//                        collection probed and listed). Run through sidebundle-fingerprint, which
//                        replays the last output while nothing it depends on changed (docs/nx-cache.md).
//   step results         trace, merge and package hash their upstream JSON outputs.
// resolve hashes no sidebundle.json (the digest prints the resolve-relevant part), so editing a
// trace command or a module only the trace imports reruns trace, merge and package only. The lock is in no file
// input: the trace target rewrites it, and what it lists is hashed through the digest.
import { closeSync, existsSync, lstatSync, openSync, readFileSync, readSync } from 'node:fs';
import * as path from 'node:path';

import type { CreateDependencies, CreateNodes, CreateNodesResult, DependencyType, ProjectConfiguration, RawProjectGraphDependency, TargetConfiguration } from '@nx/devkit';

import { LOCK_FILE } from '../lib/config/lockfile';
import { NX_OUT_DIR, STEP_FILES, stepDirOf } from '../lib/config/nx-paths';

export interface SidebundlePluginOptions {
  /** Prefix for the inferred target names (default none: resolve, trace, merge, package, bundle).
   * `nx add sidebundle` picks one that collides with no existing target and stores it here. */
  targetPrefix?: string;
  /** The target that builds a project whose output is an entry (default build): resolve depends
   * on it in every project this one depends on (`^build`). */
  buildTargetName?: string;
}

export const CONFIG_GLOB = '**/sidebundle.json';

export const createNodes: CreateNodes<SidebundlePluginOptions> = [
  CONFIG_GLOB,
  (configFiles, options, context) =>
    configFiles.map((configFile) => [configFile, nodesFor(configFile, options ?? {}, context.workspaceRoot)] as const),
];

/** @deprecated Nx 21–23 name of the same hook. */
export const createNodesV2 = createNodes;

/** The inferred targets, in chain order (bundle depends on package, … on resolve). */
export const STEP_TARGETS = ['resolve', 'trace', 'merge', 'package', 'bundle'] as const;
/** Inferred beside them when sidebundle.json has "push". */
export const PUSH_TARGET = 'push';
/** Added in front of the names in a project whose own targets already use one of them. */
export const COLLISION_PREFIX = 'sidebundle-';
/** npm's lockfiles at the workspace root: what a Node app's node_modules hold (Nx hashes no
 * ignored file, and node_modules is one). */
const NODE_LOCKS = ['package-lock.json', 'npm-shrinkwrap.json'];
/** Python writes byte code beside the modules a trace imports: not a source change. */
const NOT_INPUTS = [`!{projectRoot}/${LOCK_FILE}`, '!{projectRoot}/**/__pycache__/**'];

export interface ConfigFields {
  name?: unknown;
  outDir?: unknown;
  emitSingleFile?: unknown;
  emitOci?: unknown;
  emitOciArchive?: unknown;
  push?: unknown;
  entries?: unknown;
  copyDirs?: unknown;
  node?: unknown;
}

function nodesFor(configFile: string, options: SidebundlePluginOptions, workspaceRoot: string): CreateNodesResult {
  const projectRoot = path.dirname(configFile);
  // Like @nx/vite: a project is a directory with a project.json or package.json; a stray
  // sidebundle.json elsewhere (a fixture, a copy) makes no project.
  if (!['project.json', 'package.json'].some((f) => existsSync(path.join(workspaceRoot, projectRoot, f)))) return {};
  const config = readConfig(path.join(workspaceRoot, configFile), configFile);
  // An explicit target of the same name would replace the inferred one and cut the chain (a
  // project's own `package` target): then every name gets a prefix instead, never an override.
  const own = explicitTargetNames(path.join(workspaceRoot, projectRoot));
  const prefix = targetPrefixFor(own, options.targetPrefix ?? '', targetNamesFor(config));
  return { projects: { [projectRoot]: { targets: sidebundleTargets(configFile, config, workspaceRoot, { ...options, targetPrefix: prefix }) } } };
}

/** The targets inferred for a configuration (push only where it names a registry: a workspace's
 * own push target is common, and would otherwise rename every inferred one). */
export function targetNamesFor(config: ConfigFields): readonly string[] {
  return typeof config.push === 'string' ? [...STEP_TARGETS, PUSH_TARGET] : STEP_TARGETS;
}

/** `prefix`, or the first of `prefix` + sidebundle-, + sidebundle-2-, … under which no inferred
 * name (`inferred`) is one of `taken`. */
export function targetPrefixFor(taken: Iterable<string>, prefix = '', inferred: readonly string[] = STEP_TARGETS): string {
  const names = new Set(taken);
  for (let i = 1; ; i++) {
    const candidate = i === 1 ? prefix : `${prefix}${COLLISION_PREFIX}${i === 2 ? '' : `${i - 1}-`}`;
    if (!inferred.some((t) => names.has(`${candidate}${t}`))) return candidate;
  }
}

/** Targets a project declares itself: project.json targets, package.json `nx.targets` and scripts
 * (Nx makes a target of each script). */
function explicitTargetNames(dir: string): string[] {
  const read = (file: string): Record<string, unknown> => {
    try {
      const value: unknown = JSON.parse(readFileSync(path.join(dir, file), 'utf8'));
      return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
    } catch {
      return {}; // Nx reports a broken project.json / package.json itself
    }
  };
  const keys = (value: unknown) => (typeof value === 'object' && value !== null ? Object.keys(value) : []);
  const project = read('project.json');
  const pkg = read('package.json');
  return [...keys(project.targets), ...keys((pkg.nx as { targets?: unknown } | undefined)?.targets), ...keys(pkg.scripts)];
}

/**
 * The five targets for one sidebundle.json, as plain JSON: the plugin infers them, and the init
 * generator writes them into project.json where the workspace does not use inference plugins.
 */
export function sidebundleTargets(configFile: string, config: ConfigFields, workspaceRoot: string, options: SidebundlePluginOptions = {}): Record<string, TargetConfiguration> {
  const projectRoot = path.posix.dirname(configFile);
  const name = typeof config.name === 'string' ? config.name : path.basename(projectRoot);
  const outDir = typeof config.outDir === 'string' ? config.outDir : NX_OUT_DIR;
  const t = (target: string) => `${options.targetPrefix ?? ''}${target}`;
  const stepDir = `{workspaceRoot}/${stepDirOf(projectRoot, name)}`;
  const common = { config: configFile };
  const native = existsSync(path.join(workspaceRoot, FINGERPRINT_BINARY));
  const digest = (extra = '') => fingerprintCommand(native, `node node_modules/sidebundle/dist/lib/cli/main.js digest --config ${configFile}${extra}`);
  const sidebundleVersion = versionInput(workspaceRoot, native ? digest() : 'node node_modules/sidebundle/dist/lib/cli/main.js --version');
  // What resolve reads in the workspace: the entries and copied directories it names (not the
  // rest of the project: a module only the traced run imports is the trace target's input).
  const paths = workspacePathsOf(config, projectRoot, workspaceRoot);
  const named = paths.flatMap((p) => [`{workspaceRoot}/${p}`, `{workspaceRoot}/${p}/**/*`]);
  const build = options.buildTargetName ?? 'build';
  // An entry in the project's own build output (a Node app's dist/apps/x/main.js): build first.
  const buildOutputs = ownBuildOutputs(workspaceRoot, projectRoot, build);
  const ownBuild = paths.some((p) => buildOutputs.some((dir) => isInside(p, dir)));
  // A Node app's collection (in trace) reads its build output, the packages the root lock
  // installs, and the npm workspace packages it depends on (linked, not in the lock's hash).
  const nodeInputs = isNodeApp(config, paths, workspaceRoot)
    ? [...NODE_LOCKS.map((f) => `{workspaceRoot}/${f}`), ...npmWorkspaceInputs(workspaceRoot), '^default', { dependentTasksOutputFiles: '**/*', transitive: true }]
    : [];
  const targets: Record<string, TargetConfiguration> = {
    [t('resolve')]: {
      executor: 'sidebundle:resolve',
      options: common,
      cache: true,
      dependsOn: [...(ownBuild ? [build] : []), `^${build}`],
      inputs: [
        ...named,
        '^default',
        { dependentTasksOutputFiles: '**/*', transitive: true },
        { runtime: digest() },
        sidebundleVersion,
      ],
      outputs: [`${stepDir}/${STEP_FILES.closureFile}`],
      metadata: metadataOf('Find the entries, their loader and libraries, as ld.so would', { traceRoot: ['/opt/sysroot'], allowGpuLibs: true }),
    },
    [t('trace')]: {
      executor: 'sidebundle:trace',
      options: common,
      cache: true,
      dependsOn: [t('resolve')],
      inputs: ['{projectRoot}/**/*', ...NOT_INPUTS, ...(nodeInputs.length ? nodeInputs : [{ dependentTasksOutputFiles: `**/${STEP_FILES.closureFile}` }]), { runtime: digest(' --traced') }, sidebundleVersion],
      outputs: [`${stepDir}/${STEP_FILES.tracedFile}`],
      metadata: metadataOf(`Run the trace commands under the tracer; record files outside the workspace in ${LOCK_FILE}`, { traceBackend: 'ptrace', traceTimeout: 120 }),
    },
    [t('merge')]: {
      executor: 'sidebundle:merge',
      options: common,
      cache: true,
      dependsOn: [t('trace')],
      inputs: [`{projectRoot}/sidebundle.json`, { dependentTasksOutputFiles: '**/*.json', transitive: true }, sidebundleVersion],
      outputs: [`${stepDir}/${STEP_FILES.planFile}`],
      metadata: metadataOf('Merge the closures into one payload plan', { setEnv: ['LANG=C.UTF-8'] }),
    },
    [t('package')]: {
      executor: 'sidebundle:package',
      options: common,
      cache: true,
      dependsOn: [t('merge')],
      inputs: [`{projectRoot}/sidebundle.json`, { dependentTasksOutputFiles: `**/${STEP_FILES.planFile}` }, sidebundleVersion],
      outputs: [
        `{workspaceRoot}/${outDir}/${name}`,
        ...(config.emitSingleFile === true ? [`{workspaceRoot}/${outDir}/${name}.run`] : []),
        ...shipOutputs(config, outDir, name),
      ],
      metadata: metadataOf(`Write the bundle to ${outDir}/${name}`, { runMode: 'host', emitSingleFile: true, emitOci: `dist/images/${name}`, report: true }),
    },
    [t('bundle')]: {
      executor: 'nx:noop',
      cache: true,
      // `nx run app:bundle --runMode=host` passes its options on to package (the step that takes
      // the bundle-level options: runMode, emitSingleFile, strictValidate, outDir); a step option
      // package does not take is rejected by its schema rather than silently dropped.
      dependsOn: [{ target: t('package'), params: 'forward' }],
      // Nothing of its own to hash (the steps are cached targets); not the project's files, which
      // include the lock the trace target rewrites.
      inputs: [`{projectRoot}/sidebundle.json`, sidebundleVersion],
      metadata: metadataOf('Build the relocatable bundle (resolve → trace → merge → package); options given to it reach package', { runMode: 'host' }),
    },
  };
  if (typeof config.push === 'string') {
    targets[t(PUSH_TARGET)] = {
      executor: 'sidebundle:push',
      options: common,
      // A side effect: a cache hit would replay the log of an earlier push and push nothing. Its
      // input, the bundle, comes from package (restored from Nx's cache when that is a hit).
      cache: false,
      dependsOn: [t('package')],
      metadata: metadataOf(`Push the image of ${outDir}/${name} to ${config.push}`, { push: 'registry://localhost:5000/tools/app:1' }),
    };
  }
  return targets;
}

/**
 * What package writes besides the bundle: the image layout and archive (from sidebundle.json, or
 * given as options: Nx drops an `{options.x}` output that is not set) and the report. The report's
 * path is fixed (beside the bundle), so it is declared whether or not this configuration asks for
 * it: `--report` on the command line is cached too, and package removes a report it did not write.
 */
function shipOutputs(config: ConfigFields, outDir: string, name: string): string[] {
  const configured = [config.emitOci, config.emitOciArchive].filter((p): p is string => typeof p === 'string' && isWorkspaceRelative(p));
  return [
    ...configured.map((p) => `{workspaceRoot}/${path.posix.normalize(p)}`),
    // Relative to the workspace root, like @nx/js's {options.outputPath} (Nx rejects
    // {workspaceRoot}/{options.x} as a glob).
    '{options.emitOci}',
    '{options.emitOciArchive}',
    `{workspaceRoot}/${outDir}/${name}.report.html`,
  ];
}

/** A path Nx can cache: relative, inside the workspace. */
function isWorkspaceRelative(p: string): boolean {
  const normal = path.posix.normalize(p);
  return !path.posix.isAbsolute(normal) && normal !== '.' && !normal.startsWith('../') && normal !== '..';
}

/**
 * The installed sidebundle's version, an input of every target. Nx knows a package installed from
 * the registry or a tarball as an external node; one linked from a directory (`file:../..`, as in
 * examples/nx-workspace, or `npm link`) is no node at all and `externalDependencies` naming it
 * fails every run, so then `printed`, a command whose output starts with the linked copy's version,
 * is hashed instead. Nx runs a runtime input for every task that names it (Nx 24.0.6, measured),
 * so that is the replayed resolve fingerprint where sidebundle-fingerprint is shipped (a few stats
 * per task), else `--version`.
 */
function versionInput(workspaceRoot: string, printed: string): { externalDependencies: string[] } | { runtime: string } {
  let linked = false;
  try {
    linked = lstatSync(path.join(workspaceRoot, 'node_modules', 'sidebundle')).isSymbolicLink();
  } catch {
    // not installed at the root (hoisted elsewhere): Nx's external node is the one to name
  }
  return linked ? { runtime: printed } : { externalDependencies: ['sidebundle'] };
}

/** Where sidebundle-fingerprint keeps its records (per checkout; never an output Nx restores). */
const FINGERPRINT_RECORDS = 'node_modules/.cache/sidebundle/fingerprints';
const FINGERPRINT_BINARY = 'node_modules/sidebundle/native/prebuilt/sidebundle-fingerprint';

/**
 * A `sidebundle digest` command as a runtime input: through the native sidebundle-fingerprint
 * where the package ships it (a no-op costs a few stats instead of a Node start: it prints the
 * digest's recorded output while nothing recorded changed, and runs the digest otherwise), else
 * the digest itself.
 */
function fingerprintCommand(native: boolean, digest: string): string {
  return native ? `${FINGERPRINT_BINARY} ${FINGERPRINT_RECORDS} ${digest}` : digest;
}

/** What `nx show project` shows for a target, as @nx/vite gives it: the options live in
 * sidebundle.json (or on the command line), described by the CLI's help. */
function metadataOf(description: string, exampleOptions: Record<string, unknown>): TargetConfiguration['metadata'] {
  return {
    description,
    technologies: ['sidebundle'],
    help: { command: 'npx sidebundle create --help', example: { options: exampleOptions } },
  };
}

/** The configuration's fields the plugin needs; a file that is not JSON is an error naming it
 * (the targets vanishing would hide the mistake). */
function readConfig(file: string, shown: string): ConfigFields {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`sidebundle: ${shown} is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`sidebundle: ${shown} must hold a JSON object`);
  return value as ConfigFields;
}

/**
 * Entries and copied directories that lie inside the workspace, relative to its root. Entries
 * are "PATH[::trace=...]" strings or { host } objects; a bare name is looked up on PATH (outside).
 */
function workspacePathsOf(config: ConfigFields, projectRoot: string, workspaceRoot: string): string[] {
  const named: string[] = [];
  for (const entry of Array.isArray(config.entries) ? config.entries : []) {
    // An image archive or OCI layout named by path (oci:DIR, oci-archive:FILE, docker-archive:FILE).
    const image = typeof entry === 'object' && entry !== null ? (entry as { image?: unknown }).image : undefined;
    const local = typeof image === 'string' ? /^(?:oci|oci-archive|docker-archive):([^:]+)/.exec(image)?.[1] : undefined;
    if (local !== undefined) named.push(local);
    const p = typeof entry === 'string' ? entry.split('::')[0]! : typeof entry === 'object' && entry !== null && typeof (entry as { host?: unknown }).host === 'string' ? (entry as { host: string }).host : undefined;
    if (p !== undefined && p.includes('/')) named.push(p);
  }
  for (const dir of Array.isArray(config.copyDirs) ? config.copyDirs : []) {
    const source = typeof dir === 'string' ? dir.replace(/:\/.*$/, '') : typeof dir === 'object' && dir !== null ? (dir as { source?: unknown }).source : undefined;
    if (typeof source === 'string') named.push(source);
  }
  const out = new Set<string>();
  for (const p of named) {
    const relative = path.relative(workspaceRoot, path.resolve(workspaceRoot, projectRoot, p));
    if (relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative)) out.add(relative);
  }
  return [...out].sort();
}

/**
 * Where the project's own build target (in project.json or package.json's nx.targets) writes:
 * its outputs, else Nx's default for an executor with an `outputPath` option.
 */
function ownBuildOutputs(workspaceRoot: string, projectRoot: string, build: string): string[] {
  const read = (file: string): Record<string, unknown> => {
    try {
      const value: unknown = JSON.parse(readFileSync(path.join(workspaceRoot, projectRoot, file), 'utf8'));
      return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
    } catch {
      return {};
    }
  };
  const targets = { ...(read('package.json').nx as { targets?: Record<string, TargetConfiguration> } | undefined)?.targets, ...(read('project.json').targets as Record<string, TargetConfiguration> | undefined) };
  const target = targets[build];
  if (!target) return [];
  const outputs = target.outputs ?? ['{options.outputPath}'];
  return outputDirsOf({ root: projectRoot, targets: { [build]: { ...target, outputs } } });
}

/** Every file of the root package.json's npm workspaces (each glob with `/**` + `/*` added):
 * which of them an app uses is known only to collection, so a change in any reruns its trace. */
function npmWorkspaceInputs(workspaceRoot: string): string[] {
  let workspaces: unknown;
  try {
    workspaces = (JSON.parse(readFileSync(path.join(workspaceRoot, 'package.json'), 'utf8')) as { workspaces?: unknown }).workspaces;
  } catch {
    return [];
  }
  const globs = Array.isArray(workspaces) ? workspaces : (workspaces as { packages?: unknown } | undefined)?.packages;
  return (Array.isArray(globs) ? globs : [])
    .filter((g): g is string => typeof g === 'string' && isWorkspaceRelative(g) && !g.startsWith('!'))
    .map((g) => `{workspaceRoot}/${path.posix.normalize(g).replace(/\/$/, '')}/**/*`);
}

/** A bundle of a Node app: --node given, an entry that is a .js file, or a #! line naming node. */
function isNodeApp(config: ConfigFields, paths: string[], workspaceRoot: string): boolean {
  if (typeof config.node === 'string') return true;
  return paths.some((p) => {
    if (/\.[cm]?js$/.test(p)) return true;
    let fd: number | undefined;
    try {
      fd = openSync(path.join(workspaceRoot, p), 'r');
      const head = Buffer.alloc(256);
      return /^#!.*\bnode(js)?\b/.test(head.subarray(0, readSync(fd, head, 0, 256, 0)).toString('latin1').split('\n')[0]!);
    } catch {
      return false; // not there yet (a build output) or a directory
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  });
}

/**
 * A project whose entry is another project's build output (or lies in its root) depends on it:
 * `^build` then builds it first and `^default` / `dependentTasksOutputFiles` hash it. Outputs are
 * only known once every plugin's targets are merged, which createDependencies sees and
 * createNodes does not.
 */
export const createDependencies: CreateDependencies<SidebundlePluginOptions> = (_options, context) => {
  const out: RawProjectGraphDependency[] = [];
  for (const [source, project] of Object.entries(context.projects)) {
    const configFile = path.join(project.root, 'sidebundle.json');
    if (!Object.values(project.targets ?? {}).some((t) => t.executor === 'sidebundle:resolve')) continue;
    let config: ConfigFields;
    try {
      config = readConfig(path.join(context.workspaceRoot, configFile), configFile);
    } catch {
      continue; // createNodes reports it
    }
    const paths = workspacePathsOf(config, project.root, context.workspaceRoot);
    for (const [target, other] of Object.entries(context.projects)) {
      if (target === source) continue;
      const places = [...(other.root && other.root !== '.' ? [other.root] : []), ...outputDirsOf(other)];
      if (paths.some((p) => places.some((place) => isInside(p, place)))) {
        out.push({ source, target, type: 'implicit' as DependencyType.implicit });
      }
    }
  }
  return out;
};

/** A project's declared outputs as workspace-relative paths, up to the first glob segment. */
function outputDirsOf(project: ProjectConfiguration): string[] {
  const out: string[] = [];
  for (const target of Object.values(project.targets ?? {})) {
    for (const output of target.outputs ?? []) {
      const expanded = output
        .replace(/^\{workspaceRoot\}\/?/, '')
        .replace(/\{projectRoot\}/g, project.root)
        .replace(/\{projectName\}/g, project.name ?? '')
        .replace(/\{options\.([\w.-]+)\}/g, (_, key: string) => {
          const value = (target.options as Record<string, unknown> | undefined)?.[key];
          return typeof value === 'string' ? value : '\0';
        });
      const segments = path.posix.normalize(expanded).split('/');
      const fixed = segments.slice(0, segments.findIndex((s) => /[*?[{!\0]/.test(s)) >>> 0);
      if (fixed.length > 0 && fixed[0] !== '..' && fixed[0] !== '.') out.push(fixed.join('/'));
    }
  }
  return out;
}

function isInside(p: string, dir: string): boolean {
  return p === dir || p.startsWith(`${dir}/`);
}
