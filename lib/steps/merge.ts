// merge(): closures (static and traced, any number of roots) → MergedPlan. Pure, and cheap; it
// is cached only so that an unchanged plan keeps its identity (same output, same digest).
import { sha256Text } from '../cache/step-cache';
import { mergeClosures, type MergeOptions } from '../merge/merge';
import type { MergedPlan } from '../model/plan';
import { cachedStep } from './cached';
import type { StepContext } from './context';

export type MergeStepOptions = MergeOptions;

export async function merge(options: MergeStepOptions, context: StepContext = {}): Promise<MergedPlan> {
  return cachedStep(context, {
    step: 'merge',
    // The closures by the digest of their JSON: canonical JSON of a few thousand files was a
    // third of a no-op's key hashing. JSON text is one-to-one with the value, so another key
    // order can only cost a miss, never give a wrong hit.
    options: { ...options, closures: sha256Text(JSON.stringify(options.closures)) },
    run: async () => ({ output: mergeClosures(options), inputs: async () => [] }),
  });
}
