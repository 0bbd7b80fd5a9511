// What every sidebundle executor accepts: a `config` file (sidebundle.json, as the inferred
// targets pass it) and/or the same fields inline (as a hand-written project.json passes them);
// inline fields win. Paths resolve against the workspace root, entry paths against the
// config file's directory (or the project root for inline entries).
import * as path from 'node:path';

import type { ExecutorContext } from '@nx/devkit';

import { copyDirsOf, DEFAULT_CACHE_DIR, DEFAULT_OUT_DIR, entriesOf, readConfigFile, validateConfig, type BundleConfig } from '../../lib/config/config';
import { StepCache } from '../../lib/cache/step-cache';
import type { EntrySpec } from '../../lib/entries/spec';
import type { TraceBackendRequest } from '../../lib/model/trace';
import type { RunMode } from '../../lib/package/launcher';
import type { SidebundleExecutorOptions } from './schema';

export interface NormalizedOptions {
  workspaceRoot: string;
  projectRoot: string;
  name: string;
  entries: EntrySpec[];
  outDir: string;
  traceRoot: string;
  traceBackend: TraceBackendRequest;
  traceTimeoutMs: number;
  traceInclude: string[];
  copyDirs: Array<{ source: string; dest?: string }>;
  setEnv: Record<string, string>;
  allowGpuLibs: boolean;
  strictValidate: boolean;
  runMode: RunMode;
  emitSingleFile: boolean;
  /** Keep a trace whose command exits non-zero (default: the step fails, TRACE_COMMAND_FAILED). */
  allowTraceFailure: boolean;
  imageBackend: 'auto' | 'docker' | 'podman';
  imageTraceBackend?: BundleConfig['imageTraceBackend'];
  imageAgentCli?: string;
  imageAgentBin?: string;
  cache: StepCache;
  closureFile: string;
  tracedFile: string;
  planFile: string;
  /** The sidebundle.json read, if any (its sidebundle.lock sits beside it). */
  configFile?: string;
  /** Where entry paths are relative to. */
  baseDir: string;
}

export function normalizeOptions(options: SidebundleExecutorOptions, context: ExecutorContext): NormalizedOptions {
  const workspaceRoot = context.root;
  const projectRoot = context.projectName ? context.projectsConfigurations?.projects[context.projectName]?.root ?? '' : '';
  const configFile = options.config === undefined ? undefined : path.resolve(workspaceRoot, options.config);
  const fromFile: Partial<BundleConfig> = configFile ? readConfigFile(configFile) : {};
  const { config: _config, closureFile, tracedFile, planFile, ...inline } = options;
  const merged = { ...fromFile, ...stripUndefined(inline) } as BundleConfig;
  const where = configFile ?? `options of ${context.projectName ?? 'the project'}:${context.targetName ?? ''}`;
  validateConfig(merged, where);
  const baseDir = configFile ? path.dirname(configFile) : path.resolve(workspaceRoot, projectRoot);
  const stepDir = path.join(workspaceRoot, 'dist', 'sidebundle', projectRoot, merged.name);
  return {
    workspaceRoot,
    projectRoot,
    name: merged.name,
    entries: entriesOf(merged, baseDir, where),
    outDir: path.resolve(workspaceRoot, merged.outDir ?? DEFAULT_OUT_DIR),
    traceRoot: merged.traceRoot === undefined ? '/' : path.resolve(baseDir, merged.traceRoot),
    traceBackend: merged.traceBackend ?? 'auto',
    traceTimeoutMs: (merged.traceTimeout ?? 60) * 1000,
    traceInclude: (merged.traceInclude ?? []).map((p) => path.resolve(baseDir, p)),
    copyDirs: copyDirsOf(merged, baseDir),
    setEnv: merged.setEnv ?? {},
    allowGpuLibs: merged.allowGpuLibs === true,
    strictValidate: merged.strictValidate === true,
    runMode: merged.runMode ?? 'auto',
    emitSingleFile: merged.emitSingleFile === true,
    allowTraceFailure: merged.allowTraceFailure === true,
    imageBackend: merged.imageBackend ?? 'auto',
    ...(merged.imageTraceBackend ? { imageTraceBackend: merged.imageTraceBackend } : {}),
    ...(merged.imageAgentCli ? { imageAgentCli: merged.imageAgentCli } : {}),
    ...(merged.imageAgentBin ? { imageAgentBin: path.resolve(baseDir, merged.imageAgentBin) } : {}),
    cache: new StepCache(path.resolve(workspaceRoot, merged.cacheDir ?? DEFAULT_CACHE_DIR)),
    closureFile: path.resolve(workspaceRoot, closureFile ?? path.join(stepDir, 'closure.json')),
    tracedFile: path.resolve(workspaceRoot, tracedFile ?? path.join(stepDir, 'traced.json')),
    planFile: path.resolve(workspaceRoot, planFile ?? path.join(stepDir, 'plan.json')),
    ...(configFile ? { configFile } : {}),
    baseDir,
  };
}

/** The engine's options for the group-aware phases (lib/bundle.ts). */
export function bundleOptionsOf(o: NormalizedOptions) {
  return {
    entries: o.entries,
    outDir: o.outDir,
    traceRoot: o.traceRoot,
    copyDirs: o.copyDirs,
    setEnv: o.setEnv,
    allowGpuLibs: o.allowGpuLibs,
    strictValidate: o.strictValidate,
    runMode: o.runMode,
    emitSingleFile: o.emitSingleFile,
    traceBackend: o.traceBackend,
    traceTimeoutMs: o.traceTimeoutMs,
    traceInclude: o.traceInclude,
    allowTraceFailure: o.allowTraceFailure,
    cwd: o.baseDir,
    imageBackend: o.imageBackend,
    ...(o.imageTraceBackend ? { imageTraceBackend: o.imageTraceBackend } : {}),
    ...(o.imageAgentCli ? { imageAgentCli: o.imageAgentCli } : {}),
    ...(o.imageAgentBin ? { imageAgentBin: o.imageAgentBin } : {}),
  };
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
