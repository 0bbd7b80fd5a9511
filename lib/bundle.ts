// The whole chain in one call: entries → (images materialised) → resolve → trace → merge →
// package, each step cached on content digests when a step cache is given. Entries are grouped
// by root (lib/steps/groups.ts): host entries share `/` (or the trace root), each image its
// unpacked rootfs; merge keeps each root in its own payload.
// Build scripts that need more control compose the same steps (lib/index.ts exports them).
import * as path from 'node:path';

import type { FamilySummary } from './collect';
import type { MaterializedImage } from './image/materialize';
import type { Diagnostic, ResolvedClosure } from './model/closure';
import type { RunMode } from './model/options';
import type { MergedPlan } from './model/plan';
import type { TraceReport, TraceRunner } from './model/trace';
import { emitImage, wantsImage, type EmitImageOptions, type EmittedImage } from './ship/emit';
import type { StepContext } from './steps/context';
import { closuresOf, resolveGroups, traceGroups, type GroupOptions } from './steps/groups';
import { merge } from './steps/merge';
import { pack, type PackStepResult } from './steps/package';

export interface BundleOptions extends GroupOptions {
  name: string;
  setEnv?: Record<string, string>;
  strictValidate?: boolean;
  /** How launchers run their programs (default auto). */
  runMode?: RunMode;
  /** Also write OUTDIR/NAME.run, a single-file executable of the bundle. */
  emitSingleFile?: boolean;
  /** Images out of the bundle (--emit-oci, --emit-oci-archive, --push, --oci-entry): lib/ship. */
  image?: Omit<EmitImageOptions, 'images'>;
}

export interface BundleResult extends PackStepResult {
  plan: MergedPlan;
  closures: ResolvedClosure[];
  traces: TraceReport[];
  images: MaterializedImage[];
  /** The OCI image made of the bundle, when asked for. */
  image?: EmittedImage;
  diagnostics: Diagnostic[];
  /** What each collection family added, over all roots. */
  collected: FamilySummary[];
}

export async function bundle(options: BundleOptions, context: StepContext = {}, tracer?: TraceRunner): Promise<BundleResult> {
  const cwd = path.resolve(options.cwd ?? process.cwd());
  const outDir = path.resolve(cwd, options.outDir);
  const resolved = await resolveGroups(options, context);
  const traced = await traceGroups(resolved, options, context, tracer);
  const closures = closuresOf(resolved, traced);
  const plan = await merge({ name: options.name, closures, ...(options.setEnv ? { setEnv: options.setEnv } : {}) }, context);
  const packed = await pack(plan, {
    outDir,
    ...(options.strictValidate ? { strictValidate: true } : {}),
    ...(options.runMode ? { runMode: options.runMode } : {}),
    ...(options.emitSingleFile ? { singleFile: true } : {}),
  }, context);
  const images = resolved.flatMap((g) => (g.image ? [g.image] : []));
  const image = options.image && wantsImage(options.image)
    ? await emitImage(packed.dir, { ...options.image, images, registry: { ...(context.signal ? { signal: context.signal } : {}) } })
    : undefined;
  return {
    ...packed,
    plan,
    closures,
    traces: traced.flatMap((t) => t.reports),
    images,
    ...(image ? { image } : {}),
    diagnostics: plan.diagnostics,
    collected: sumCollected(traced.flatMap((t) => t.collected ?? [])),
  };
}

/** Per family, over all roots (in the families' order). */
function sumCollected(list: FamilySummary[]): FamilySummary[] {
  const by = new Map<string, FamilySummary>();
  for (const s of list) {
    const known = by.get(s.family) ?? { family: s.family, files: 0, bytes: 0 };
    const parts = new Map((known.parts ?? []).map((p) => [p.part, p]));
    for (const p of s.parts ?? []) {
      const sum = parts.get(p.part) ?? { part: p.part, files: 0, bytes: 0 };
      parts.set(p.part, { part: p.part, files: sum.files + p.files, bytes: sum.bytes + p.bytes });
    }
    by.set(s.family, { family: s.family, files: known.files + s.files, bytes: known.bytes + s.bytes, ...(parts.size ? { parts: [...parts.values()] } : {}) });
  }
  return [...by.values()];
}
