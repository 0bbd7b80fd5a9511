// What a traced run may put into a bundle. Never by default: the kernel's virtual filesystems,
// runtime and temporary directories, the bundle's own output, the user's home, secrets, and the
// files that describe the build machine itself (its users, hosts, resolver): a target provides
// its own. The user's own directories (the entries' projects, --copy-dir sources) are exempt from
// the home and temporary rules, not from the secret ones. Everything left out is listed with its
// reason and impact; --trace-include brings a path back.
import * as path from 'node:path';

import type { ExcludedFile } from '../model/closure';
import { secretByName } from './secrets';

export interface TracePolicy {
  /** Absolute directories whose contents are never shipped (the output dir, the user's home);
   * `personal` ones do not apply inside the user's own directories. */
  extraExcluded: Array<{ dir: string; reason: string; personal?: boolean; impact?: ExcludedFile['impact'] }>;
  /** Paths (files or directory prefixes) included even when a rule excludes them, secrets aside. */
  include: string[];
  /** Secrets shipped anyway (--allow-secret): files or directory prefixes. */
  allowSecret?: string[];
  /** The user's own directories: the entries' projects and the --copy-dir sources. */
  own?: string[];
}

/** Why a path is left out, and what that costs (see ExcludedFile.impact). */
export interface Exclusion {
  reason: string;
  impact?: ExcludedFile['impact'];
  /** Left out without being listed: what the run itself wrote, under names that depend on the
   * tracer's timing (a file written to a temporary name and renamed is reported by either). */
  quiet?: true;
}

interface Rule extends Exclusion {
  test: (p: string) => boolean;
  /** A rule about where personal files live: not applied inside the user's own directories. */
  personal?: boolean;
  /** A rule only for the user's own directories. */
  ownOnly?: boolean;
}

/** Why a `.git` directory (or file) is never shipped; --copy-dir applies it too. */
export const VCS_REASON = 'version control data (its config may hold credentials): never shipped';

const RULES: Rule[] = [
  { test: (p) => /\/\.git(\/|$)/.test(p), reason: VCS_REASON, impact: 'secret' },
  { test: under('/proc', '/sys', '/dev'), reason: 'kernel virtual filesystem: provided by the target at run time' },
  { test: under('/run', '/var/run'), reason: 'runtime file: belongs to the machine it was made on' },
  { test: under('/tmp', '/var/tmp'), reason: 'temporary file: belongs to the machine it was made on', personal: true, impact: 'lost' },
  {
    test: (p) => /^\/etc\/(passwd|group|hosts|hostname|resolv\.conf|machine-id|mtab|localtime|timezone|nsswitch\.conf)$/.test(p),
    reason: 'describes the build machine (users, names, resolver): the target provides its own',
  },
  { test: under('/root', '/home'), reason: "a user's home directory: personal files are not shipped", personal: true, impact: 'lost' },
  // Python writes these while the trace runs; they record the build machine's file times (the
  // bundle would depend on the checkout) and Python compiles the shipped sources without them.
  { test: (p) => /\/__pycache__\//.test(p), reason: "bytecode cache of the project's sources: rebuilt from them at run time", ownOnly: true, quiet: true },
];

/** The policy of one root's runs and collection: absolute paths (callers resolve them). */
export function tracePolicy(options: { include?: string[]; allowSecret?: string[]; exclude?: string[]; own?: string[]; home?: string }): TracePolicy {
  const home = options.home;
  return {
    include: options.include ?? [],
    allowSecret: options.allowSecret ?? [],
    extraExcluded: [
      ...(options.exclude ?? []).map((dir) => ({ dir, reason: 'the bundle output directory' })),
      ...(home && home !== '/' ? [{ dir: home, reason: "the user's home directory: personal files are not shipped", personal: true, impact: 'lost' as const }] : []),
    ],
    own: options.own ?? [],
  };
}

/** Why `logical` must not be shipped, or undefined when it may be. */
export function exclusionOf(logical: string, policy: TracePolicy): Exclusion | undefined {
  const normalized = path.posix.normalize(logical);
  const own = (policy.own ?? []).some((d) => within(normalized, d));
  const applies = (rule: { personal?: boolean; ownOnly?: boolean }) => (own ? !rule.personal : !rule.ownOnly);
  if (!(policy.allowSecret ?? []).some((p) => within(normalized, p))) {
    const secret = secretByName(normalized) ?? RULES.find((rule) => rule.impact === 'secret' && rule.test(normalized))?.reason;
    if (secret) return { reason: secret, impact: 'secret' };
  }
  if (policy.include.some((p) => within(normalized, p))) return undefined;
  for (const { dir, reason, impact, personal } of policy.extraExcluded) {
    if (within(normalized, dir) && applies({ personal })) return { reason, ...(impact ? { impact } : {}) };
  }
  const rule = RULES.find((r) => applies(r) && r.test(normalized));
  return rule && { reason: rule.reason, ...(rule.impact ? { impact: rule.impact } : {}), ...(rule.quiet ? { quiet: true as const } : {}) };
}

/** The reason `logical` must not be shipped, or undefined when it may be. */
export function exclusionReason(logical: string, policy: TracePolicy): string | undefined {
  return exclusionOf(logical, policy)?.reason;
}

/** `logical` is `prefix` or below it (a prefix ending in / names a directory). */
export function within(logical: string, prefix: string): boolean {
  return logical === prefix || logical.startsWith(prefix.endsWith('/') ? prefix : `${prefix}/`);
}

function under(...dirs: string[]): (p: string) => boolean {
  return (p) => dirs.some((d) => p === d || p.startsWith(`${d}/`));
}
