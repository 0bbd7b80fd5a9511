// trace(): run each entry's trace command under the tracer (in the entry's root), keep what
// the policy allows, and resolve what it touched like the rest (programs with their loader and
// libraries, libraries with theirs, data as data). The result is a second closure of the same
// root, merged like any other, plus the raw reports. Cached on the static closure, the trace
// options and the digests of every file the runs touched (and the absence of those they missed).
import * as os from 'node:os';
import * as path from 'node:path';

import { SidebundleError } from '../errors';
import type { ExcludedFile, ResolvedClosure } from '../model/closure';
import type { TraceBackendRequest, TraceReport, TracedFile } from '../model/trace';
import { DEFAULT_PATH } from '../resolve/closure';
import { resolveClosure } from '../resolve/resolve';
import { exclusionReason, type TracePolicy } from '../trace/policy';
import { trace as runTrace } from '../trace/tracer';
import { digestsOf, emit, STEP_VERSIONS, type StepContext } from './context';
import { canonicalJson, sha256Text } from '../cache/step-cache';
import { stringEnv } from '../util/env';

export interface TraceRequest {
  command: string[];
  cwd?: string;
  env?: Record<string, string>;
  root?: string;
  backend: TraceBackendRequest;
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** Runs one trace; the default is the native tracer (lib/trace/tracer.ts). */
export type TraceRunner = (request: TraceRequest) => Promise<TraceReport>;

export interface TraceStepOptions {
  /** What to run, per entry (by launcher name). Entries without a command are not traced. */
  commands: Array<{ entry: string; command: string[] }>;
  backend?: TraceBackendRequest;
  timeoutMs?: number;
  /** Paths included even where the policy would exclude them (--trace-include). */
  include?: string[];
  /** Directories never shipped in addition to the defaults (the output directory). */
  exclude?: string[];
  /** Working directory of the traced commands (default: process.cwd()). */
  cwd?: string;
}

export interface TracedClosure {
  schema: 'sidebundle/traced@1';
  reports: TraceReport[];
  closure: ResolvedClosure;
}

export const DEFAULT_TRACE_TIMEOUT_MS = 60_000;

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
  const home = process.env.HOME ?? os.homedir();
  const policy: TracePolicy = {
    include: (options.include ?? []).map((p) => path.resolve(p)),
    extraExcluded: [
      ...(options.exclude ?? []).map((dir) => ({ dir: path.resolve(dir), reason: 'the bundle output directory' })),
      ...(home && home !== '/' ? [{ dir: home, reason: "the user's home directory: personal files are not shipped" }] : []),
    ],
  };
  const normalized = { closure: sha256Text(canonicalJson(closure)), commands: options.commands, backend, timeoutMs: options.timeoutMs ?? DEFAULT_TRACE_TIMEOUT_MS, policy, cwd };
  const cache = context.cache;
  const key = cache?.key('trace', STEP_VERSIONS.trace, normalized);
  if (cache && key && runs.length > 0) {
    const hit = await cache.lookup<TracedClosure>(key);
    if (hit) {
      emit(context, { type: 'step', step: 'trace', status: 'hit' });
      return hit;
    }
  }
  if (runs.length === 0 || backend === 'off') {
    return { schema: 'sidebundle/traced@1', reports: [], closure: emptyClosure(closure.root) };
  }

  const run = runner ?? runTrace;
  const reports: TraceReport[] = [];
  const excluded: ExcludedFile[] = [];
  const traced: Array<{ entry: string; command: string[]; loader?: string; files: TracedFile[] }> = [];
  for (const { entry, command } of runs) {
    context.signal?.throwIfAborted();
    emit(context, { type: 'step', step: 'trace', status: 'run', detail: `${entry.name}: ${command.join(' ')}` });
    const report = await run({
      command,
      cwd,
      // The programs a trace runs must be the ones the resolver bundled: commands and
      // `#!/usr/bin/env NAME` are found on the same PATH (a user's PATH may put a pyenv or
      // nvm shim first, whose files are not the bundle's).
      env: { ...stringEnv(process.env), PATH: DEFAULT_PATH.join(':') },
      root: closure.root,
      backend,
      timeoutMs: normalized.timeoutMs,
      ...(context.signal ? { signal: context.signal } : {}),
    });
    reports.push(report);
    for (const warning of report.warnings) emit(context, { type: 'log', level: 'warn', message: `trace ${entry.name}: ${warning}` });
    if (report.timedOut) {
      emit(context, { type: 'log', level: 'warn', message: `trace ${entry.name}: the command was killed after ${normalized.timeoutMs} ms; what it touched until then is kept` });
    }
    const kept: TracedFile[] = [];
    for (const file of report.files) {
      if (!file.found) continue;
      const reason = exclusionReason(file.path, policy) ?? (file.resolved ? exclusionReason(file.resolved, policy) : undefined);
      if (reason) excluded.push({ path: file.path, reason });
      else kept.push(file);
    }
    traced.push({ entry: entry.name, command, ...(entry.loader ? { loader: entry.loader } : {}), files: kept });
  }

  const { closure: additions, fs } = await resolveClosure({ root: closure.root, entries: [], traced, digests: digestsOf(context) });
  additions.excluded.push(...dedupeExcluded(excluded));
  const result: TracedClosure = { schema: 'sidebundle/traced@1', reports, closure: additions };
  // A run that fell back to no tracing is not remembered: it would hide the tracer once available.
  if (cache && key && reports.every((r) => r.backend !== 'off')) {
    const touched = reports.flatMap((r) => r.files.map((f) => f.path)).filter((p) => exclusionReason(p, policy) === undefined);
    cache.store(key, await cache.describe([...touched, ...fs.probes().keys()].map((p) => fs.hostPath(p))), result);
  }
  return result;
}


function emptyClosure(root: string): ResolvedClosure {
  return { schema: 'sidebundle/closure@1', root, entries: [], files: [], symlinks: [], missing: [], excluded: [], diagnostics: [] };
}

function dedupeExcluded(list: ExcludedFile[]): ExcludedFile[] {
  const seen = new Map<string, ExcludedFile>();
  for (const e of list) if (!seen.has(e.path)) seen.set(e.path, e);
  return [...seen.values()].sort((a, b) => (a.path < b.path ? -1 : 1));
}
