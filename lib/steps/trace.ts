// trace(): run each entry's trace command under the tracer (in the entry's root), keep what
// the policy allows, and resolve what it touched like the rest (programs with their loader and
// libraries, libraries with theirs, data as data). The result is a second closure of the same
// root, merged like any other, plus the raw reports. Cached on the static closure, the trace
// options and the digests of every file the runs touched (and the absence of those they missed).
import { lstatSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { SidebundleError } from '../errors';
import { DEFAULT_PATH, type ExcludedFile, type ResolvedClosure, type ResolvedEntry } from '../model/closure';
import { DEFAULT_TRACE_TIMEOUT_MS, type TraceBackendRequest, type TraceReport, type TracedFile, type TraceRunner } from '../model/trace';
import { resolveClosure } from '../resolve/resolve';
import { relocateClosure } from '../resolve/relocate';
import { dedupeExcluded, emptyClosure, unionOf } from '../resolve/union';
import { exclusionReason, tracePolicy, within, type TracePolicy } from '../policy/policy';
import { screener } from '../policy/screen';
import { trace as runTrace } from '../trace/tracer';
import type { StepCache } from '../cache/step-cache';
import { cachedStep, type StepRun } from './cached';
import { digestsOf, emit, type StepContext } from './context';
import { stringEnv } from '../util/env';

export interface TraceStepOptions {
  /** What to run, per entry (by launcher name). Entries without a command are not traced. */
  commands: Array<{ entry: string; command: string[] }>;
  backend?: TraceBackendRequest;
  timeoutMs?: number;
  /** Paths included even where the policy would exclude them (--trace-include; relative ones
   * against `cwd`). */
  include?: string[];
  /** Secrets shipped anyway (--allow-secret): without it no rule, include or project ships one. */
  allowSecret?: string[];
  /** The user's own directories besides the entries' projects (the --copy-dir sources): the
   * policy's home and temporary rules do not apply there. */
  ownDirs?: string[];
  /** Directories never shipped in addition to the defaults (the output directory). */
  exclude?: string[];
  /** Working directory of the traced commands (default: process.cwd()). */
  cwd?: string;
  /** Environment of the traced commands (default: ours, with the resolver's PATH). */
  env?: Record<string, string>;
  /** Keep what a trace command touched even when it exits non-zero or dies by a signal
   * (--allow-trace-failure); by default that fails the step. */
  allowFailure?: boolean;
}

export interface TracedClosure {
  schema: 'sidebundle/traced@1';
  reports: TraceReport[];
  closure: ResolvedClosure;
}

export async function trace(closure: ResolvedClosure, options: TraceStepOptions, context: StepContext = {}, runner?: TraceRunner): Promise<TracedClosure> {
  const backend = options.backend ?? 'auto';
  const runs = options.commands.filter((c) => c.command.length > 0).map((c) => {
    const entry = closure.entries.find((e) => e.name === c.entry);
    if (!entry) {
      throw new SidebundleError('TRACE_UNKNOWN_ENTRY', `a trace command is given for ${c.entry}, which is not an entry of this closure`, {
        input: c.entry,
        kind: 'input',
        hint: `entries are: ${closure.entries.map((e) => e.name).join(', ')}`,
      });
    }
    return { entry, command: c.command };
  });
  const cwd = path.resolve(options.cwd ?? process.cwd());
  const policy = policyOf(closure, options, cwd);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TRACE_TIMEOUT_MS;
  if (runs.length === 0 || backend === 'off') {
    return { schema: 'sidebundle/traced@1', reports: [], closure: emptyClosure(closure.root) };
  }
  const run = runner ?? runTrace;
  const allowFailure = options.allowFailure === true;
  const results: TracedRunResult[] = [];
  for (const { entry, command } of runs) {
    context.signal?.throwIfAborted();
    // Each run is cached on its own, keyed on what it runs and validated against every file it
    // touched (the loader opens every library, so those are inputs too): changing one entry
    // does not re-trace the others.
    results.push(await cachedStep<TracedRunResult>(context, {
      step: 'trace',
      options: { root: closure.root, entry: entry.name, target: entry.target, loader: entry.loader, command, backend, timeoutMs, policy, cwd, env: options.env },
      hitDetail: entry.name,
      runDetail: `${entry.name}: ${command.join(' ')}`,
      onHit: (stored) => {
        checkExit(stored.report, entry.name, allowFailure);
        warnLeftOut(context, entry.name, stored.leftOut ?? []);
      },
      run: () => traceOne({ entry, command, backend, timeoutMs, cwd, policy, allowFailure, env: options.env }, closure, context, run),
    }));
  }
  return { schema: 'sidebundle/traced@1', reports: results.map((r) => r.report), closure: unionOf(closure.root, results.map((r) => r.closure)) };
}

interface TraceRun {
  entry: ResolvedEntry;
  command: string[];
  backend: TraceBackendRequest;
  timeoutMs: number;
  cwd: string;
  policy: TracePolicy;
  allowFailure: boolean;
  env: Record<string, string> | undefined;
}

/** One entry's command run under the tracer, what it touched sorted out and resolved. */
async function traceOne(one: TraceRun, closure: ResolvedClosure, context: StepContext, run: TraceRunner): Promise<StepRun<TracedRunResult>> {
  const { entry, command, timeoutMs, policy } = one;
  const report = await run({
    command,
    cwd: one.cwd,
    // The programs a trace runs must be the ones the resolver bundled: commands and
    // `#!/usr/bin/env NAME` are found on the same PATH (a user's PATH may put a pyenv or
    // nvm shim first, whose files are not the bundle's).
    env: one.env ?? { ...stringEnv(process.env), PATH: DEFAULT_PATH.join(':') },
    root: closure.root,
    backend: one.backend,
    timeoutMs,
    ...(context.signal ? { signal: context.signal } : {}),
  });
  for (const warning of report.warnings) emit(context, { type: 'log', level: 'warn', message: `trace ${entry.name}: ${warning}` });
  if (report.timedOut) {
    emit(context, { type: 'log', level: 'warn', message: `trace ${entry.name}: the command was killed after ${timeoutMs} ms; what it touched until then is kept` });
  }
  checkExit(report, entry.name, one.allowFailure);
  const { kept, excluded } = sortOut(report.files, policy, closure.root);
  // The static closure has the entry at its project's place; the run used the real paths.
  const loader = entry.loader === undefined ? undefined : originalPath(entry.loader, closure);
  const traced = [{ entry: entry.name, command, ...(loader ? { loader } : {}), files: kept }];
  const { closure: found, fs } = await resolveClosure({ root: closure.root, entries: [], traced, digests: digestsOf(context) });
  found.excluded.push(...dedupeExcluded(excluded));
  const leftOut = dedupeExcluded(excluded.filter((e) => e.impact !== undefined));
  warnLeftOut(context, entry.name, leftOut);
  const output: TracedRunResult = { report, closure: relocateClosure(found, closure.projects ?? []), leftOut };
  const inputs = async (cache: StepCache) => {
    // A run that fell back to no tracing is not remembered: it would hide the tracer once available.
    if (report.backend === 'off') return undefined;
    const touched = report.files.map((f) => f.path).filter((p) => exclusionReason(p, policy) === undefined);
    return cache.describe([...touched, ...fs.probes().keys()].map((p) => fs.hostPath(p)));
  };
  return { output, inputs };
}

/**
 * A trace command that failed most likely did not exercise what the bundle needs (a typo, a
 * missing argument): fail the step rather than ship a bundle built from half a run. A command
 * stopped by the trace timeout is the documented way to trace servers, so it passes.
 */
function checkExit(report: TraceReport, entry: string, allowFailure: boolean): void {
  const exit = report.exit;
  if (allowFailure || report.timedOut || report.cancelled || exit === null) return;
  if ('code' in exit && exit.code === 0) return;
  const status = 'code' in exit ? `exited with status ${exit.code}` : `was killed by ${exit.signal}`;
  throw new SidebundleError('TRACE_COMMAND_FAILED', `the trace command of ${entry} ${status}: ${report.command.join(' ')}`, {
    input: report.command.join(' '),
    kind: 'input',
    hint: "its output is above; fix the command, or pass --allow-trace-failure (\"allowTraceFailure\": true) to keep what it touched",
    details: { entry, exit },
  });
}

interface TracedRunResult {
  report: TraceReport;
  closure: ResolvedClosure;
  /** What the run read that the policy kept out and that matters (at the paths the run used). */
  leftOut?: ExcludedFile[];
}

/** The policy for one closure's runs: the defaults, the options, and the user's own directories. */
function policyOf(closure: ResolvedClosure, options: TraceStepOptions, cwd: string): TracePolicy {
  return tracePolicy({
    include: (options.include ?? []).map((p) => path.resolve(cwd, p)),
    allowSecret: (options.allowSecret ?? []).map((p) => path.resolve(cwd, p)),
    exclude: (options.exclude ?? []).map((dir) => path.resolve(cwd, dir)),
    own: [...(closure.projects ?? []).map((p) => p.dir), ...(options.ownDirs ?? []).map((d) => path.resolve(cwd, d))],
    home: process.env.HOME ?? os.homedir(),
  });
}

/** The files a run found, split into those the policy keeps and those it leaves out (with why).
 * A left-out path that no longer exists (a temporary file the run renamed or removed, a /proc
 * entry of a process gone) is not listed: it costs nothing, and its name is often random. */
function sortOut(files: TracedFile[], policy: TracePolicy, root: string): { kept: TracedFile[]; excluded: ExcludedFile[] } {
  const kept: TracedFile[] = [];
  const excluded: ExcludedFile[] = [];
  const screen = screener(policy, (p) => path.join(root, p));
  for (const file of files) {
    if (!file.found) continue;
    const exclusion = screen(file.path, file.resolved);
    if (!exclusion) {
      kept.push(file);
      continue;
    }
    if (exclusion.quiet) continue;
    const stats = lstatSync(path.join(root, file.path), { throwIfNoEntry: false });
    if (stats === undefined) continue;
    // A directory on the way to the user's project (/home, the checkout's parent): the project
    // moves to /opt/sidebundle/NAME in the bundle, and naming these would tie it to the checkout.
    if (stats.isDirectory() && (policy.own ?? []).some((dir) => within(dir, file.path))) continue;
    const matters = exclusion.impact !== undefined && stats.isFile();
    excluded.push({ path: file.path, reason: exclusion.reason, ...(matters ? { impact: exclusion.impact } : {}) });
  }
  return { kept, excluded };
}

/** Up to this many left-out files are named one by one in the warning. */
const NAMED_LEFT_OUT = 10;

/** One warning per run naming what it read and will not find in the bundle, and the way back. */
function warnLeftOut(context: StepContext, entry: string, leftOut: ExcludedFile[]): void {
  if (leftOut.length === 0) return;
  const lines = leftOut.slice(0, NAMED_LEFT_OUT).map((e) => `  ${e.path}: ${e.reason} (to ship it: --${e.impact === 'secret' ? 'allow-secret' : 'trace-include'} ${e.path})`);
  if (leftOut.length > NAMED_LEFT_OUT) lines.push(`  and ${leftOut.length - NAMED_LEFT_OUT} more (manifest.lock lists them under "excluded")`);
  const count = leftOut.length === 1 ? 'a file' : `${leftOut.length} files`;
  emit(context, { type: 'log', level: 'warn', message: `trace ${entry}: the run read ${count} the bundle leaves out:\n${lines.join('\n')}` });
}

/** A path of the static closure at its place on the build machine (a project's files moved back). */
function originalPath(logical: string, closure: ResolvedClosure): string {
  const project = closure.projects?.find((p) => logical === p.at || logical.startsWith(`${p.at}/`));
  return project ? `${project.dir}${logical.slice(project.at.length)}` : logical;
}
