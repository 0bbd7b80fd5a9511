// A doctor's findings: one check per thing that can stop a bundle (or a program) from running
// on this machine, each with a verdict, what was seen, and what to do about it.

export type Verdict = 'ok' | 'warn' | 'fail';

export interface Check {
  /** Stable name (`userns.probe`, `proc`, `loader:jq`, `glibc:/usr/bin/jq`). */
  id: string;
  verdict: Verdict;
  /** What was found, in words. */
  detail: string;
  hint?: string;
}

export const check = (id: string, verdict: Verdict, detail: string, hint?: string): Check => ({ id, verdict, detail, ...(hint ? { hint } : {}) });

/** The worst verdict: fail over warn over ok. */
export function overall(checks: readonly Check[]): Verdict {
  return checks.some((c) => c.verdict === 'fail') ? 'fail' : checks.some((c) => c.verdict === 'warn') ? 'warn' : 'ok';
}
