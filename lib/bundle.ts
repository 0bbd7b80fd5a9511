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
import type { EmitImageOptions, EmittedImage } from './ship/emit';
import { checkImageRequest, wantsImage } from './ship/wants';
import type { StepContext } from './steps/context';
import { closuresOf, resolveGroups, traceGroups, type GroupOptions } from './steps/groups';
import { merge } from './steps/merge';
import { pack, type PackageStepOptions, type PackStepResult } from './steps/package';

export interface BundleOptions extends GroupOptions {
  name: string;
  setEnv?: Record<string, string>;
  strictValidate?: boolean;
  /** How launchers run their programs (default auto). */
  runMode?: RunMode;
  /** Also write OUTDIR/NAME.run, a single-file executable of the bundle. */
  emitSingleFile?: boolean;
  /** Images out of the bundle (lib/ship): an OCI image layout, an oci-archive, a push to a
   * registry, and the entry the image runs (default the first). */
  emitOci?: string;
  emitOciArchive?: string;
  push?: string;
  ociEntry?: string;
  /** Also write OUTDIR/NAME.report.html (lib/report). */
  report?: boolean;
}

export interface BundleResult extends PackStepResult {
  plan: MergedPlan;
  closures: ResolvedClosure[];
  traces: TraceReport[];
  images: MaterializedImage[];
  /** The OCI image made of the bundle, when asked for. */
  image?: EmittedImage;
  /** Where the report went, when asked for. */
  report?: string;
  diagnostics: Diagnostic[];
  /** What each collection family added, over all roots. */
  collected: FamilySummary[];
}

export async function bundle(options: BundleOptions, context: StepContext = {}, tracer?: TraceRunner): Promise<BundleResult> {
  // The digest memo is saved once, after the last step, not after each (StepCache.batch).
  return context.cache ? context.cache.batch(() => steps(options, context, tracer)) : steps(options, context, tracer);
}

async function steps(options: BundleOptions, context: StepContext, tracer: TraceRunner | undefined): Promise<BundleResult> {
  const cwd = path.resolve(options.cwd ?? process.cwd());
  const outDir = path.resolve(cwd, options.outDir);
  const resolved = await resolveGroups(options, context);
  const traced = await traceGroups(resolved, options, context, tracer);
  const closures = closuresOf(resolved, traced);
  const plan = await merge({ name: options.name, closures, ...(options.setEnv ? { setEnv: options.setEnv } : {}) }, context);
  const images = resolved.flatMap((g) => (g.image ? [g.image] : []));
  const { packed, shipped } = await packAndShip(plan, {
    outDir,
    ...(options.strictValidate ? { strictValidate: true } : {}),
    ...(options.runMode ? { runMode: options.runMode } : {}),
    ...(options.emitSingleFile ? { singleFile: true } : {}),
  }, images, { ...options, cwd }, context);
  return {
    ...packed,
    plan,
    closures,
    traces: traced.flatMap((t) => t.reports),
    images,
    ...shipped,
    diagnostics: [...plan.diagnostics, ...packed.diagnostics],
    collected: sumCollected(traced.flatMap((t) => t.collected ?? [])),
  };
}

export type ShipOptions = Pick<BundleOptions, 'emitOci' | 'emitOciArchive' | 'push' | 'ociEntry' | 'report' | 'cwd'>;
export type Shipped = { image?: EmittedImage; report?: string };

/**
 * The package step with what is made of the bundle besides it. The image (written, archived,
 * pushed) is made of the staged bundle before it is published, so a request that fails (a
 * registry that refuses the push, a full disk) leaves the previous bundle in place; on a step
 * cache hit, of the published one, which is the same. The report goes beside the published
 * bundle. The CLI's create, the bundle executor and the package executor share it.
 */
export async function packAndShip(plan: MergedPlan, packOptions: Omit<PackageStepOptions, 'beforePublish'>, images: MaterializedImage[], options: ShipOptions, context: StepContext = {}): Promise<{ packed: PackStepResult; shipped: Shipped }> {
  const dir = path.join(path.resolve(packOptions.outDir), plan.name);
  checkImageRequest(imageOptions(options, options.cwd ?? process.cwd()), plan.launchers.map((l) => l.name), { dir, run: `${dir}.run` });
  let image: EmittedImage | undefined;
  let made = false;
  const packed = await pack(plan, { ...packOptions, beforePublish: async (staged) => { image = await shipImage(staged, images, options, context); made = true; } }, context);
  if (!made) image = await shipImage(packed.dir, images, options, context);
  // The report goes beside the bundle (the bundle is immutable and hashed); loaded only when asked.
  const report = options.report ? writeReportOf(packed.dir, images) : undefined;
  return { packed, shipped: { ...(image ? { image } : {}), ...(report ? { report } : {}) } };
}

/** The image of a bundle directory, when one is asked for (`images`: the bundle's source
 * images, whose config and layer sizes are not in manifest.lock). The push executor ships a
 * published bundle with it; one bundle gives one image digest whichever made it. */
export async function shipImage(dir: string, images: MaterializedImage[], options: ShipOptions, context: StepContext = {}): Promise<EmittedImage | undefined> {
  const image = imageOptions(options, options.cwd ?? process.cwd());
  if (!wantsImage(image)) return undefined;
  // The image code (tar-stream, the registry client) is loaded only when an image is wanted.
  const ship = require('./ship/emit') as typeof import('./ship/emit');
  return ship.emitImage(dir, { ...image, images, registry: { ...(context.signal ? { signal: context.signal } : {}) } });
}

/** The image options asked for, their paths resolved against `cwd`. */
function imageOptions(options: ShipOptions, cwd: string): EmitImageOptions {
  const at = (p: string) => path.resolve(cwd, p);
  return {
    ...(options.emitOci ? { ociDir: at(options.emitOci) } : {}),
    ...(options.emitOciArchive ? { ociArchive: at(options.emitOciArchive) } : {}),
    ...(options.push ? { push: options.push } : {}),
    ...(options.ociEntry ? { entry: options.ociEntry } : {}),
  };
}

function writeReportOf(dir: string, images: MaterializedImage[]): string {
  const { defaultReportPath, writeReport } = require('./report') as typeof import('./report');
  const facts = images.map((i) => ({ root: i.rootfs, reference: i.reference, digest: i.digest, layerBytes: i.layers.reduce((n, l) => n + l.size, 0) }));
  return writeReport(dir, defaultReportPath(dir), facts).path;
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
