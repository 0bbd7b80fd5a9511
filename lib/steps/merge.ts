// merge(): closures (static and traced, any number of roots) → MergedPlan. Pure, and cheap; it
// is cached only so that an unchanged plan keeps its identity (same output, same digest).
import { mergeClosures, type MergeOptions } from '../merge/merge';
import type { MergedPlan } from '../model/plan';
import { emit, STEP_VERSIONS, type StepContext } from './context';

export type MergeStepOptions = MergeOptions;

export async function merge(options: MergeStepOptions, context: StepContext = {}): Promise<MergedPlan> {
  const cache = context.cache;
  const key = cache?.key('merge', STEP_VERSIONS.merge, options);
  if (cache && key) {
    const hit = await cache.lookup<MergedPlan>(key);
    if (hit) {
      emit(context, { type: 'step', step: 'merge', status: 'hit' });
      return hit;
    }
  }
  emit(context, { type: 'step', step: 'merge', status: 'run' });
  const plan = mergeClosures(options);
  if (cache && key) cache.store(key, [], plan);
  return plan;
}
