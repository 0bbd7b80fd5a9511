// What every step function may be given: a step cache (content-digest keyed), an abort signal,
// and a progress callback. All optional: without a cache a step simply does the work.
import { DigestMemo } from '../cache/file-digest';
import type { StepCache } from '../cache/step-cache';
import { version } from '../version';

export type StepEvent =
  | { type: 'step'; step: StepName; status: 'hit' | 'run'; detail?: string }
  | { type: 'progress'; step: StepName; done: number; total: number; bytes?: number }
  | { type: 'log'; level: 'warn' | 'info' | 'debug'; message: string };

export type StepName = 'resolve' | 'trace' | 'collect' | 'merge' | 'package';

export interface StepContext {
  cache?: StepCache;
  signal?: AbortSignal;
  onEvent?: (event: StepEvent) => void;
}

/** Bumped when a step's output for the same inputs would change (invalidates cached results);
 * the package version is part of every key too. */
export const STEP_VERSIONS: Record<StepName, string> = {
  resolve: `${version()}/6`,
  trace: `${version()}/5`,
  collect: `${version()}/2`,
  merge: `${version()}/7`,
  package: `${version()}/7`,
};

export function digestsOf(context: StepContext): DigestMemo {
  return context.cache?.digests ?? new DigestMemo();
}

export function emit(context: StepContext, event: StepEvent): void {
  context.onEvent?.(event);
}
