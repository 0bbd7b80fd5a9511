// What a traced run may put into a bundle. Never by default: the kernel's virtual filesystems,
// runtime and temporary directories, the bundle's own output, the user's home, secrets, and the
// files that describe the build machine itself (its users, hosts, resolver): a target provides
// its own. Everything left out is listed with its reason; --trace-include brings a path back.
import * as path from 'node:path';

export interface TracePolicy {
  /** Absolute directories whose contents are never shipped (the output dir, the user's home). */
  extraExcluded: Array<{ dir: string; reason: string }>;
  /** Paths (files or directory prefixes) included even when a rule excludes them. */
  include: string[];
}

const RULES: Array<{ test: (p: string) => boolean; reason: string }> = [
  { test: under('/proc', '/sys', '/dev'), reason: 'kernel virtual filesystem: provided by the target at run time' },
  { test: under('/run', '/var/run', '/tmp', '/var/tmp'), reason: 'runtime or temporary file: belongs to the machine it was made on' },
  {
    test: (p) => /^\/etc\/(shadow|gshadow|shadow-|gshadow-|sudoers)$/.test(p) || under('/etc/sudoers.d', '/etc/ssl/private', '/etc/ssh')(p) || /\/\.ssh(\/|$)/.test(p) || /\/\.gnupg(\/|$)/.test(p),
    reason: 'secret: never shipped',
  },
  {
    test: (p) => /^\/etc\/(passwd|group|hosts|hostname|resolv\.conf|machine-id|mtab|localtime|timezone|nsswitch\.conf)$/.test(p),
    reason: 'describes the build machine (users, names, resolver): the target provides its own',
  },
  { test: under('/root', '/home'), reason: "a user's home directory: personal files are not shipped" },
];

/** The reason `logical` must not be shipped, or undefined when it may be. */
export function exclusionReason(logical: string, policy: TracePolicy): string | undefined {
  const normalized = path.posix.normalize(logical);
  if (policy.include.some((p) => normalized === p || normalized.startsWith(p.endsWith('/') ? p : `${p}/`))) return undefined;
  for (const { dir, reason } of policy.extraExcluded) {
    if (normalized === dir || normalized.startsWith(`${dir}/`)) return reason;
  }
  return RULES.find((rule) => rule.test(normalized))?.reason;
}

function under(...dirs: string[]): (p: string) => boolean {
  return (p) => dirs.some((d) => p === d || p.startsWith(`${d}/`));
}
