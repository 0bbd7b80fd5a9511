// sidebundle:merge — closureFile + tracedFile → MergedPlan (planFile).
import type { ExecutorContext } from '@nx/devkit';

import { closuresOf, type ResolvedGroup, type TracedGroup } from '../../lib/steps/groups';
import { merge } from '../../lib/steps/merge';
import { normalizeOptions } from '../shared/options';
import { readStepOutput, runStep, stepContext, writeStepOutput } from '../shared/run';
import type { MergeExecutorSchema } from './schema';

export default async function mergeExecutor(options: MergeExecutorSchema, context: ExecutorContext) {
  return runStep(context, async () => {
    const o = normalizeOptions('merge', options, context);
    const { groups } = readStepOutput<{ groups: ResolvedGroup[] }>(o.closureFile, o.workspaceRoot, 'resolve');
    const { traced } = readStepOutput<{ traced: TracedGroup[] }>(o.tracedFile, o.workspaceRoot, 'trace');
    const plan = await merge({ name: o.name, closures: closuresOf(groups, traced), ...(o.engine.setEnv ? { setEnv: o.engine.setEnv } : {}) }, stepContext(o));
    writeStepOutput(o.planFile, plan, o.workspaceRoot);
    console.log(`planned ${plan.name}: ${plan.launchers.length} launchers, ${plan.files.length} files`);
  });
}
