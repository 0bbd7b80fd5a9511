// What a sidebundle executor takes: a `config` file (sidebundle.json, as the inferred targets pass
// it) and/or the options the table (lib/config/options.ts) gives that executor, inline (as a
// hand-written project.json passes them); inline options win. Every option the executor takes
// reaches the engine under its own name, with its default, relative paths resolved against the
// base the table names: the workspace root, or the config file's directory (the project root for
// inline options).
import * as path from 'node:path';

import type { ExecutorContext } from '@nx/devkit';

import type { BundleOptions } from '../../lib/bundle';
import { StepCache } from '../../lib/cache/step-cache';
import { SidebundleError } from '../../lib/errors';
import { checkOptions, configDefault, copyDirsOf, entriesOf, readConfigFile } from '../../lib/config/config';
import { STEP_FILES, stepDirOf } from '../../lib/config/nx-paths';
import type { ExecutorName, OptionSpec } from '../../lib/config/option-spec';
import { executorOptions, type BundleConfig, type ExecutorOptions } from '../../lib/config/options';
import type { EntrySpec } from '../../lib/entries/spec';

/** The engine's options (lib/bundle.ts) an executor passes on: only those the table gives it. */
export type EngineOptions = Omit<BundleOptions, 'name' | 'entries' | 'outDir'> & { outDir?: string };

export interface NormalizedOptions {
  workspaceRoot: string;
  projectRoot: string;
  name: string;
  /** The entries (for the executors that take them; empty for the others). */
  entries: EntrySpec[];
  engine: EngineOptions;
  cache: StepCache;
  closureFile: string;
  tracedFile: string;
  planFile: string;
  /** The sidebundle.json read, if any (its sidebundle.lock sits beside it). */
  configFile?: string;
  /** Where entry paths are relative to. */
  baseDir: string;
}

/** Options handled here rather than passed to the engine as they are. */
const NOT_ENGINE = new Set(['config', 'name', 'entries', 'cacheDir', 'closureFile', 'tracedFile', 'planFile']);

export function normalizeOptions<E extends ExecutorName>(executor: E, options: ExecutorOptions<E>, context: ExecutorContext): NormalizedOptions {
  const workspaceRoot = context.root;
  const projectRoot = context.projectName ? context.projectsConfigurations?.projects[context.projectName]?.root ?? '' : '';
  const taken = executorOptions(executor);
  const inline = stripUndefined(options as Record<string, unknown>);
  checkOptions(inline, taken.map((o) => o.name), `options of ${context.projectName ?? 'the project'}:${context.targetName ?? executor}`);
  const configFile = typeof inline.config === 'string' ? path.resolve(workspaceRoot, inline.config) : undefined;
  const fromFile: Partial<BundleConfig> = configFile ? readConfigFile(configFile) : {};
  const merged = { ...fromFile, ...inline } as Record<string, unknown>;
  const where = configFile ?? `options of ${context.projectName ?? 'the project'}:${context.targetName ?? executor}`;
  const name = merged.name;
  if (typeof name !== 'string' || name === '') {
    throw new SidebundleError('CONFIG_INVALID', `${where}: "name" (the bundle name) is required`, { input: where, kind: 'input', hint: 'add "name": "my-tool", or a "config" file that has it' });
  }
  const baseDir = configFile ? path.dirname(configFile) : path.resolve(workspaceRoot, projectRoot);
  const takes = (option: string) => taken.some((o) => o.name === option);
  const stepDir = path.join(workspaceRoot, stepDirOf(projectRoot, name));
  const stepFile = (option: keyof typeof STEP_FILES) => path.resolve(workspaceRoot, (merged[option] as string | undefined) ?? path.join(stepDir, STEP_FILES[option]));
  return {
    workspaceRoot,
    projectRoot,
    name,
    entries: takes('entries') ? entriesOf(merged as Pick<BundleConfig, 'entries'>, baseDir, where) : [],
    engine: engineOptionsOf(taken, merged, { workspace: workspaceRoot, config: baseDir }),
    cache: new StepCache(path.resolve(workspaceRoot, (merged.cacheDir as string | undefined) ?? configDefault<string>('cacheDir')!)),
    closureFile: stepFile('closureFile'),
    tracedFile: stepFile('tracedFile'),
    planFile: stepFile('planFile'),
    ...(configFile ? { configFile } : {}),
    baseDir,
  };
}

/** Each option taken, its value or default, paths resolved; the two whose engine form differs
 * converted (traceTimeout in seconds → traceTimeoutMs; copyDirs specs → { source, dest }). */
function engineOptionsOf(taken: OptionSpec[], merged: Record<string, unknown>, bases: { workspace: string; config: string }): EngineOptions {
  const out: Record<string, unknown> = { cwd: bases.config };
  for (const option of taken) {
    if (NOT_ENGINE.has(option.name)) continue;
    const value = merged[option.name] ?? option.default;
    if (value === undefined) continue;
    if (option.name === 'traceTimeout') out.traceTimeoutMs = (value as number) * 1000;
    else if (option.name === 'copyDirs') out.copyDirs = copyDirsOf(merged as Pick<BundleConfig, 'copyDirs'>, bases.config);
    else if (option.path) {
      const base = bases[option.path];
      out[option.name] = Array.isArray(value) ? value.map((p: string) => path.resolve(base, p)) : path.resolve(base, value as string);
    } else out[option.name] = value;
  }
  return out as EngineOptions;
}

/** What lib/bundle.ts's phases take: the entries and the engine options. outDir is there for the
 * executors that take it (trace, package, bundle: it has a default); resolve needs none. */
export function bundleOptionsOf(o: NormalizedOptions): Omit<BundleOptions, 'name'> {
  return { entries: o.entries, ...o.engine } as Omit<BundleOptions, 'name'>;
}

function stripUndefined(value: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined));
}
