// The whole chain in one call: entries → resolve → trace → merge → package, each step cached on
// content digests when a step cache is given. Build scripts that need more control compose the
// same steps themselves (lib/index.ts exports them).
import * as path from 'node:path';

import type { EntrySpec } from './entries/spec';
import type { Diagnostic, ResolvedClosure } from './model/closure';
import type { MergedPlan } from './model/plan';
import type { TraceBackendRequest, TraceReport } from './model/trace';
import type { PackResult } from './package/pack';
import type { StepContext } from './steps/context';
import { merge } from './steps/merge';
import { pack } from './steps/package';
import { resolve } from './steps/resolve';
import { trace, type TraceRunner } from './steps/trace';

export interface BundleOptions {
  name: string;
  entries: EntrySpec[];
  outDir: string;
  /** Host entries are read inside this directory instead of `/` (--trace-root). */
  traceRoot?: string;
  copyDirs?: Array<{ source: string; dest?: string }>;
  setEnv?: Record<string, string>;
  allowGpuLibs?: boolean;
  strictValidate?: boolean;
  traceBackend?: TraceBackendRequest;
  traceTimeoutMs?: number;
  traceInclude?: string[];
  /** Base for relative paths and the traced commands' working directory. */
  cwd?: string;
}

export interface BundleResult extends PackResult {
  plan: MergedPlan;
  closures: ResolvedClosure[];
  traces: TraceReport[];
  diagnostics: Diagnostic[];
}

/** Trace commands per entry name, from entry specs. */
export function traceCommandsOf(entries: EntrySpec[]): Array<{ entry: string; command: string[] }> {
  return entries.filter((e) => e.trace !== undefined).map((e) => ({ entry: e.name ?? path.posix.basename(e.path), command: e.trace! }));
}

export async function bundle(options: BundleOptions, context: StepContext = {}, tracer?: TraceRunner): Promise<BundleResult> {
  const cwd = path.resolve(options.cwd ?? process.cwd());
  const outDir = path.resolve(cwd, options.outDir);
  const closure = await resolve({
    root: options.traceRoot ?? '/',
    entries: options.entries,
    cwd,
    ...(options.copyDirs ? { copyDirs: options.copyDirs } : {}),
    ...(options.allowGpuLibs ? { allowGpuLibs: true } : {}),
  }, context);
  context.signal?.throwIfAborted();
  const traced = await trace(closure, {
    commands: traceCommandsOf(options.entries),
    ...(options.traceBackend ? { backend: options.traceBackend } : {}),
    ...(options.traceTimeoutMs ? { timeoutMs: options.traceTimeoutMs } : {}),
    ...(options.traceInclude ? { include: options.traceInclude } : {}),
    exclude: [outDir],
    cwd,
  }, context, tracer);
  context.signal?.throwIfAborted();
  const closures = traced.closure.files.length > 0 || traced.closure.excluded.length > 0 ? [closure, traced.closure] : [closure];
  const plan = await merge({ name: options.name, closures, ...(options.setEnv ? { setEnv: options.setEnv } : {}) }, context);
  const packed = await pack(plan, { outDir, ...(options.strictValidate ? { strictValidate: true } : {}) }, context);
  return { ...packed, plan, closures, traces: traced.reports, diagnostics: plan.diagnostics };
}
