// sidebundle:package — planFile → the bundle directory outDir/name (published atomically).
import type { ExecutorContext } from '@nx/devkit';

import type { MergedPlan } from '../../lib/model/plan';
import { pack } from '../../lib/steps/package';
import { normalizeOptions } from '../shared/options';
import { readStepOutput, runStep, stepContext } from '../shared/run';
import type { PackageExecutorSchema } from './schema';

export default async function packageExecutor(options: PackageExecutorSchema, context: ExecutorContext) {
  return runStep(context, async () => {
    const o = normalizeOptions('package', options, context);
    const plan = readStepOutput<MergedPlan>(o.planFile, o.workspaceRoot, 'merge');
    const result = await pack(plan, { outDir: o.engine.outDir!, strictValidate: o.engine.strictValidate === true, ...(o.engine.runMode ? { runMode: o.engine.runMode } : {}), singleFile: o.engine.emitSingleFile === true }, stepContext(o));
    for (const issue of result.validation.issues) console.warn(`validation: ${issue.message}`);
    console.log(`bundle ${result.name} → ${result.dir} (${result.files} files, manifest ${result.manifestSha256.slice(0, 12)})`);
  });
}
