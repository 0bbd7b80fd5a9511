// merge(): closures (static and traced, any number of roots) → MergedPlan. Pure, and cheap; it
// is cached only so that an unchanged plan keeps its identity (same output, same digest).
import { mergeClosures, type MergeOptions } from '../merge/merge';
import type { MergedPlan } from '../model/plan';
import { cachedStep } from './cached';
import type { StepContext } from './context';

export type MergeStepOptions = MergeOptions;

export async function merge(options: MergeStepOptions, context: StepContext = {}): Promise<MergedPlan> {
  return cachedStep(context, {
    step: 'merge',
    options,
    run: async () => ({ output: mergeClosures(options), inputs: async () => [] }),
  });
}
