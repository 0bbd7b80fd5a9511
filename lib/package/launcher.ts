// Host-mode launchers: a POSIX sh script per entry in bin/. It finds the bundle from its own
// path (following symlinks to itself, from any cwd, spaces allowed) without forking, exports
// SIDEBUNDLE_ROOT, and execs the bundled loader with --library-path: the library path is an
// argument of this one process, so programs the entry starts never inherit it (an exported
// LD_LIBRARY_PATH would leak bundled libraries into host programs).
import type { LaunchArg, LauncherPlan } from '../model/plan';

/** Quote for POSIX sh: single quotes, with embedded single quotes spliced in. */
export function shQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** A bundle path as a shell word: "$root"/'payload/...'. */
function inBundle(bundlePath: string): string {
  return `"$root"/${shQuote(bundlePath)}`;
}

/** An environment value where ${SIDEBUNDLE_ROOT} stands for the bundle directory at run time. */
function envValue(value: string): string {
  return value.split('${SIDEBUNDLE_ROOT}').map((part) => (part === '' ? '' : shQuote(part))).join('"$root"') || "''";
}

function launchArg(arg: LaunchArg): string {
  return 'literal' in arg ? shQuote(arg.literal) : inBundle(arg.bundlePath);
}

export function renderLauncher(plan: LauncherPlan): string {
  const lines = [
    '#!/bin/sh',
    `# sidebundle launcher for ${plan.name} (run mode: host). Generated; edits are lost on rebundle.`,
    '# Locate the bundle from this script, following symlinks to it (no subshell: stays fast).',
    'self=$0',
    'case $self in */*) ;; *) self=$(command -v -- "$self") || { echo "sidebundle: cannot find $0" >&2; exit 127; } ;; esac',
    'while [ -h "$self" ]; do',
    '  link=$(readlink -- "$self") || break',
    '  case $link in /*) self=$link ;; *) self=${self%/*}/$link ;; esac',
    'done',
    'case $self in /*) ;; *) self=$PWD/$self ;; esac',
    'root=${self%/*}',
    ...plan.path.split('/').slice(1).map(() => 'root=${root%/*}'),
    'case $root in *:*) echo "sidebundle: the bundle path $root contains a colon, which the dynamic loader cannot take; move the bundle" >&2; exit 127 ;; esac',
    'SIDEBUNDLE_ROOT=$root',
    'export SIDEBUNDLE_ROOT',
  ];
  if (plan.helpersOnPath) lines.push('PATH="$root/bin${PATH:+:$PATH}"', 'export PATH');
  for (const [key, value] of Object.entries(plan.env).sort(([a], [b]) => (a < b ? -1 : 1))) {
    lines.push(`${key}=${envValue(value)}`, `export ${key}`);
  }
  const args = plan.args.map(launchArg);
  if (plan.loader === undefined) {
    lines.push(['exec', inBundle(plan.program), ...args, '"$@"'].join(' '));
  } else {
    // argv[0]: scripts get the bundled interpreter's own path (interpreters such as python find
    // their library relative to it). Programs get the name they were invoked by: the kernel hands
    // a #! script its path, not the caller's argv[0], so the basename is the faithful part of it
    // (what a PATH lookup passes, and what multi-call programs dispatch on).
    const argv0 = plan.kind === 'script' ? inBundle(plan.program) : '"${0##*/}"';
    lines.push([
      'exec', inBundle(plan.loader),
      '--library-path', (plan.libraryPath ?? []).map(inBundle).join(':') || "''",
      ...(plan.argv0 ? ['--argv0', argv0] : []),
      inBundle(plan.program), ...args, '"$@"',
    ].join(' '));
  }
  return `${lines.join('\n')}\n`;
}
