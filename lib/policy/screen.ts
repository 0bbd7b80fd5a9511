// The one decision "may this file of a root go into the bundle": the trace policy's rules
// (policy.ts, by path) and then secrets by inode and content (secrets.ts),
// which need the file itself. Used for what a trace read and what collection adds.
import { exclusionOf, within, type Exclusion, type TracePolicy } from './policy';
import { secretChecker } from './secrets';

/**
 * A checker over one root: `hostPath` maps a path inside the root to the host path. `opened` is
 * the file the kernel actually opened for `logical`, when a trace saw it differ: the rules apply
 * to both names, and the file's content is read once, at `opened`.
 */
export function screener(policy: TracePolicy, hostPath: (logical: string) => string): (logical: string, opened?: string) => Exclusion | undefined {
  const secretIn = secretChecker(hostPath);
  return (logical, opened) => {
    const rule = exclusionOf(logical, policy) ?? (opened === undefined ? undefined : exclusionOf(opened, policy));
    if (rule) return rule;
    if ((policy.allowSecret ?? []).some((a) => within(logical, a))) return undefined;
    const secret = secretIn(opened ?? logical);
    return secret ? { reason: secret, impact: 'secret' } : undefined;
  };
}
