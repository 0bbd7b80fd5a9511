// The one decision "may this file of a root go into the bundle": the trace policy's rules
// (policy.ts, by path) and then secrets by inode and content (secrets.ts),
// which need the file itself. Used for what a trace read and what collection adds.
import { exclusionOf, within, type Exclusion, type TracePolicy } from './policy';
import { secretChecker } from './secrets';

/** A checker over one root: `hostPath` maps a path inside the root to the host path. */
export function screener(policy: TracePolicy, hostPath: (logical: string) => string): (logical: string) => Exclusion | undefined {
  const secretIn = secretChecker(hostPath);
  return (logical) => {
    const rule = exclusionOf(logical, policy);
    if (rule) return rule;
    if ((policy.allowSecret ?? []).some((a) => within(logical, a))) return undefined;
    const secret = secretIn(logical);
    return secret ? { reason: secret, impact: 'secret' } : undefined;
  };
}
