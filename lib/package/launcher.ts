// Launchers: a POSIX sh script per entry in bin/. It finds the bundle from its own path
// (following symlinks to itself, from any cwd, spaces allowed) without forking and exports
// SIDEBUNDLE_ROOT. Then, by run mode (the bundle's, or SIDEBUNDLE_RUN_MODE at run time):
//   host   exec the bundled loader with --library-path: the library path is an argument of this
//          one process, so programs the entry starts never inherit it (an exported
//          LD_LIBRARY_PATH would leak bundled libraries into host programs);
//   auto, ns, chroot, bwrap
//          exec runtime/sidebundle-run, which makes the payload the root filesystem and execs
//          the program at its own path there (auto: falls back to the host-mode command, which
//          it is given too).
import type { LaunchArg, LauncherPlan } from '../model/plan';

export const RUN_MODES = ['auto', 'host', 'ns', 'bwrap', 'chroot'] as const;
export type RunMode = (typeof RUN_MODES)[number];
/** Where the static launcher and the new root's mount point live in a bundle. */
export const RUNNER_PATH = 'runtime/sidebundle-run';
export const ROOT_MOUNT_POINT = 'runtime/root';

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

export function renderLauncher(plan: LauncherPlan, runMode: RunMode = 'host', withRunner = runMode !== 'host'): string {
  const lines = [
    '#!/bin/sh',
    `# sidebundle launcher for ${plan.name} (run mode: ${runMode}${runMode === 'host' ? '' : '; SIDEBUNDLE_RUN_MODE overrides'}). Generated; edits are lost on rebundle.`,
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
  for (const [key, value] of sortedEntries(plan.env)) lines.push(`${key}=${envValue(value)}`, `export ${key}`);
  const hostEnv = sortedEntries(plan.hostEnv).filter(([key]) => !(key in plan.env));
  const host = hostCommand(plan, withRunner);
  if (runMode !== 'host') {
    const words = (list: string[]) => [String(list.length), ...list];
    const hostEnvWords = hostEnv.map(([key, value]) => `${shQuote(`${key}=`)}${envValue(value)}`);
    if (plan.helpersOnPath) hostEnvWords.push('"PATH=$root/bin${PATH:+:$PATH}"');
    lines.push(
      `case \${SIDEBUNDLE_RUN_MODE:-${runMode}} in`,
      '  host) ;;',
      `  auto|ns|chroot|bwrap) exec ${inBundle(RUNNER_PATH)} "\${SIDEBUNDLE_RUN_MODE:-${runMode}}" ${inBundle(plan.payload)} ${[
        ...words(rootCommand(plan)),
        ...words(hostEnvWords),
        ...words([host[0]!, ...host]),
      ].join(' ')} -- "$@" ;;`,
      '  *) echo "sidebundle: SIDEBUNDLE_RUN_MODE=$SIDEBUNDLE_RUN_MODE is not one of auto, host, ns, chroot, bwrap" >&2; exit 2 ;;',
      'esac',
    );
  }
  if (plan.helpersOnPath) lines.push('PATH="$root/bin${PATH:+:$PATH}"', 'export PATH');
  for (const [key, value] of hostEnv) lines.push(`${key}=${envValue(value)}`, `export ${key}`);
  lines.push(['exec', ...host, '"$@"'].join(' '));
  return `${lines.join('\n')}\n`;
}

function sortedEntries(env: Record<string, string>): Array<[string, string]> {
  return Object.entries(env).sort(([a], [b]) => (a < b ? -1 : 1));
}

/** Host mode: the program (through the bundled loader) at its bundle path, as shell words. */
function hostCommand(plan: LauncherPlan, withRunner: boolean): string[] {
  const args = plan.args.map(launchArg);
  if (plan.loader === undefined) {
    // A static program gets the name it was invoked by (busybox dispatches on it) where the
    // bundle has sidebundle-run to set argv[0]; sh's exec cannot.
    return withRunner && plan.kind !== 'script'
      ? [inBundle(RUNNER_PATH), 'exec', inBundle(plan.program), '"${0##*/}"', ...args]
      : [inBundle(plan.program), ...args];
  }
  // argv[0]: scripts get the bundled interpreter's own path (interpreters such as python find
  // their library relative to it). Programs get the name they were invoked by: the kernel hands
  // a #! script its path, not the caller's argv[0], so the basename is the faithful part of it
  // (what a PATH lookup passes, and what multi-call programs dispatch on).
  const argv0 = plan.kind === 'script' ? inBundle(plan.program) : '"${0##*/}"';
  return [
    inBundle(plan.loader),
    '--library-path', (plan.libraryPath ?? []).map(inBundle).join(':') || "''",
    ...(plan.argv0 ? ['--argv0', argv0] : []),
    inBundle(plan.program), ...args,
  ];
}

/** Payload-as-root modes: PATH ARGV0 ARGS..., the program at its own path in its root. */
function rootCommand(plan: LauncherPlan): string[] {
  const logical = (arg: LaunchArg) => ('literal' in arg ? shQuote(arg.literal) : shQuote(arg.bundlePath.slice(plan.payload.length)));
  const argv0 = plan.kind === 'script' ? shQuote(plan.logicalProgram) : '"${0##*/}"';
  return [shQuote(plan.logicalProgram), argv0, ...plan.args.map(logical)];
}
