// sidebundle:package — planFile → the bundle directory outDir/name (published atomically), and
// what is made of it when asked: its image (emitOci, emitOciArchive) and report (report), all
// outputs of the cached target. It never pushes: a cache hit would skip the push (the push target
// does it).
import { rmSync } from 'node:fs';

import type { ExecutorContext } from '@nx/devkit';

import { packAndShip } from '../../lib/bundle';
import type { MergedPlan } from '../../lib/model/plan';
import { defaultReportPath } from '../../lib/report';
import { normalizeOptions } from '../shared/options';
import { readStepOutput, runStep, sourceImagesOf, stepContext } from '../shared/run';
import type { PackageExecutorSchema } from './schema';

export default async function packageExecutor(options: PackageExecutorSchema, context: ExecutorContext) {
  return runStep(context, async () => {
    const o = normalizeOptions('package', options, context);
    const plan = readStepOutput<MergedPlan>(o.planFile, o.workspaceRoot, 'merge');
    const packOptions = { outDir: o.engine.outDir!, strictValidate: o.engine.strictValidate === true, ...(o.engine.runMode ? { runMode: o.engine.runMode } : {}), singleFile: o.engine.emitSingleFile === true };
    const { packed: result, shipped } = await packAndShip(plan, packOptions, sourceImagesOf(o), o.engine, stepContext(o));
    for (const issue of result.validation.issues) console.warn(`validation: ${issue.message}`);
    console.log(`bundle ${result.name} → ${result.dir} (${result.files} files, manifest ${result.manifestSha256.slice(0, 12)})`);
    // The report's path is a declared output either way: one left by an earlier run describes
    // another bundle, and Nx would cache and restore it with this one.
    if (o.engine.report !== true) rmSync(defaultReportPath(result.dir), { force: true });
    if (shipped.image) console.log(`image ${shipped.image.digest} → ${Object.values(shipped.image.outputs).join(', ')}`);
    if (shipped.report) console.log(`report → ${shipped.report}`);
  });
}
