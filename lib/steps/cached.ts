// cachedStep(): the one way a step uses the step cache: key its options, look up an earlier run
// whose inputs are unchanged, say whether it was a hit or a run, and remember a fresh run under
// the files it read. Without a cache in the context the step simply runs.
import type { StepCache, StepInput } from '../cache/step-cache';
import { emit, STEP_VERSIONS, type StepContext, type StepName } from './context';

/** What one run produced, and what it read. */
export interface StepRun<T> {
  output: T;
  /**
   * The inputs the output stays valid for, asked only when there is a cache to store it in
   * (it may also prepare the cache, e.g. adopt written content). `undefined`, or returning
   * `undefined`: this run is not remembered.
   */
  inputs?: (cache: StepCache) => Promise<StepInput[] | undefined>;
}

export interface CachedStepSpec<T> {
  step: StepName;
  /** Everything that decides the output besides the files read: the cache key. */
  options: unknown;
  /** Shown with the hit / run event (an entry's name, a count). */
  hitDetail?: string;
  runDetail?: string;
  /** Whether a stored output is still usable (e.g. the bundle it names is intact); default yes. */
  usable?: (stored: T) => boolean;
  /** Work a hit still owes its caller (checks, warnings, clean-up), after the hit event. */
  onHit?: (stored: T) => void;
  run: () => Promise<StepRun<T>>;
}

export async function cachedStep<T>(context: StepContext, spec: CachedStepSpec<T>): Promise<T> {
  const cache = context.cache;
  const key = cache?.key(spec.step, STEP_VERSIONS[spec.step], spec.options);
  if (cache && key) {
    const stored = await cache.lookup<T>(key);
    if (stored !== undefined && (spec.usable?.(stored) ?? true)) {
      emit(context, { type: 'step', step: spec.step, status: 'hit', ...(spec.hitDetail !== undefined ? { detail: spec.hitDetail } : {}) });
      spec.onHit?.(stored);
      return stored;
    }
  }
  emit(context, { type: 'step', step: spec.step, status: 'run', ...(spec.runDetail !== undefined ? { detail: spec.runDetail } : {}) });
  const { output, inputs } = await spec.run();
  if (cache && key && inputs) {
    const read = await inputs(cache);
    if (read) cache.store(key, read, output);
  }
  return output;
}
