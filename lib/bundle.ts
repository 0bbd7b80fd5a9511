// The whole chain for callers that want one call: entries → resolve → merge → package.
// Each step is also exported on its own (lib/index.ts) for build scripts that compose them.
import { DigestMemo } from './cache/file-digest';
import type { EntrySpec } from './entries/spec';
import { mergeClosures } from './merge/merge';
import type { Diagnostic, ResolvedClosure } from './model/closure';
import type { MergedPlan } from './model/plan';
import { packBundle, type PackResult } from './package/pack';
import { resolveClosure } from './resolve/resolve';

export type BundleEvent =
  | { type: 'phase'; phase: 'resolve' | 'merge' | 'package'; detail?: string }
  | { type: 'progress'; done: number; total: number; bytes: number };

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
  signal?: AbortSignal;
  onEvent?: (event: BundleEvent) => void;
  digests?: DigestMemo;
}

export interface BundleResult extends PackResult {
  plan: MergedPlan;
  closures: ResolvedClosure[];
  diagnostics: Diagnostic[];
}

export async function bundle(options: BundleOptions): Promise<BundleResult> {
  const emit = options.onEvent ?? (() => undefined);
  const digests = options.digests ?? new DigestMemo();
  emit({ type: 'phase', phase: 'resolve', detail: `${options.entries.length} entr${options.entries.length === 1 ? 'y' : 'ies'}` });
  const { closure } = await resolveClosure({
    root: options.traceRoot ?? '/',
    entries: options.entries.map((e) => ({ path: e.path, ...(e.name ? { name: e.name } : {}) })),
    ...(options.copyDirs ? { copyDirs: options.copyDirs } : {}),
    ...(options.allowGpuLibs ? { allowGpuLibs: true } : {}),
    digests,
  });
  options.signal?.throwIfAborted();
  emit({ type: 'phase', phase: 'merge' });
  const plan = mergeClosures({ name: options.name, closures: [closure], ...(options.setEnv ? { setEnv: options.setEnv } : {}) });
  emit({ type: 'phase', phase: 'package', detail: `${plan.files.length} files` });
  const packed = await packBundle(plan, {
    outDir: options.outDir,
    ...(options.strictValidate ? { strictValidate: true } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    onProgress: (p) => emit({ type: 'progress', ...p }),
    digests,
  });
  return { ...packed, plan, closures: [closure], diagnostics: plan.diagnostics };
}
