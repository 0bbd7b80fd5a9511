// sidebundle:merge — closureFile + tracedFile → MergedPlan (planFile).
import type { ExecutorContext } from '@nx/devkit';

import type { ResolvedClosure } from '../../lib/model/closure';
import { merge } from '../../lib/steps/merge';
import type { TracedClosure } from '../../lib/steps/trace';
import { normalizeOptions } from '../shared/options';
import { readStepOutput, runStep, stepContext, writeStepOutput } from '../shared/run';
import type { MergeExecutorSchema } from './schema';

export default async function mergeExecutor(options: MergeExecutorSchema, context: ExecutorContext) {
  return runStep(context, async () => {
    const o = normalizeOptions(options, context);
    const closure = readStepOutput<ResolvedClosure>(o.closureFile, o.workspaceRoot, 'resolve');
    const traced = readStepOutput<TracedClosure>(o.tracedFile, o.workspaceRoot, 'trace');
    const plan = await merge({ name: o.name, closures: [closure, traced.closure], setEnv: o.setEnv }, stepContext(o));
    writeStepOutput(o.planFile, plan, o.workspaceRoot);
    console.log(`planned ${plan.name}: ${plan.launchers.length} launchers, ${plan.files.length} files`);
  });
}
