// Launchers. bin/NAME is a symlink to runtime/sidebundle-launch (native/nolibc: no C library)
// and runtime/entries/NAME.json says how to start the entry (native/nolibc/src/entry.rs reads
// it): the program at its own path for the payload-as-root modes, and the host-mode command.
// Bundles of those modes also carry runtime/sidebundle-run (static glibc), which the launcher
// execs for run mode bwrap, and runtime/root, the new root's mount point. Where the launcher is
// not built, and for exec/ shims, the launcher is a POSIX sh script that finds the bundle from its own path (following symlinks to itself, from any
// cwd, spaces allowed) without forking, exports SIDEBUNDLE_ROOT, and execs the bundled loader
// with --library-path: the library path is an argument of this one process, so programs the
// entry starts never inherit it (an exported LD_LIBRARY_PATH would leak bundled libraries into
// host programs).
import * as path from 'node:path';

import type { RunMode } from '../model/options';
import type { LaunchArg, LauncherPlan } from '../model/plan';

/** Where the launcher (every entry's bin/ link points at it), the runner (run mode bwrap) and
 * the new root's mount point live in a bundle. */
export const LAUNCHER_PATH = 'runtime/sidebundle-launch';
export const RUNNER_PATH = 'runtime/sidebundle-run';
export const ROOT_MOUNT_POINT = 'runtime/root';
/** runtime/entries/NAME.json: how the runner starts each entry. */
export const ENTRIES_DIR = 'runtime/entries';

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
  for (const [key, value] of sortedEntries(plan.env)) lines.push(`${key}=${envValue(value)}`, `export ${key}`);
  if (plan.helpersOnPath) lines.push('PATH="$root/bin${PATH:+:$PATH}"', 'export PATH');
  for (const [key, value] of sortedEntries(plan.hostEnv).filter(([key]) => !(key in plan.env))) lines.push(`${key}=${envValue(value)}`, `export ${key}`);
  const args = [...(plan.hostArgs ?? []), ...plan.args].map(launchArg);
  if (plan.loader === undefined) {
    lines.push(['exec', inBundle(plan.program), ...args, '"$@"'].join(' '));
  } else {
    // argv[0]: scripts get the bundled interpreter's own path (interpreters such as python find
    // their library relative to it). Programs get the name they were invoked by: the kernel hands
    // a #! script its path, not the caller's argv[0], so the basename is the faithful part of it
    // (what a PATH lookup passes, and what multi-call programs dispatch on).
    const argv0 = plan.kind === 'script' ? inBundle(plan.program) : findsItselfByArgv0(plan) ? '"$0"' : '"${0##*/}"';
    lines.push([
      'exec', inBundle(plan.loader),
      '--library-path', (plan.libraryPath ?? []).map(inBundle).join(':') || "''",
      ...(plan.argv0 ? ['--argv0', argv0] : []),
      inBundle(plan.program), ...args, '"$@"',
    ].join(' '));
  }
  return `${lines.join('\n')}\n`;
}

/** Python takes sys.executable from argv[0], searching PATH for a bare name (the target's own
 * python, or none): in host mode it gets its launcher's path, so that a subprocess of
 * sys.executable starts the bundled interpreter again, through the launcher. */
function findsItselfByArgv0(plan: LauncherPlan): boolean {
  return /^python\d+(\.\d+)*$/.test(path.posix.basename(plan.logicalProgram));
}

/** A command word for the runner: literal, a bundle path, bundle paths joined with ':', or the
 * name the entry was called by. */
type Word = { s: string } | { b: string } | { paths: string[] } | { argv0: true };

export interface LauncherSpec {
  schema: 'sidebundle/launcher@1';
  name: string;
  /** The bundle's run mode for this entry (host where the payload cannot be the root). */
  mode: RunMode;
  payload: string;
  /** PATH ARGV0 ARGS... with the payload as `/`. */
  root: Word[];
  /** PATH ARGV0 ARGS... in host mode (bundle paths). */
  host: Word[];
  env: Record<string, string>;
  hostEnv: Record<string, string>;
  /** Set in the payload-as-root modes only (after `env`, which wins). */
  rootEnv?: Record<string, string>;
  helpersOnPath: boolean;
}

/** runtime/entries/NAME.json: what sidebundle-launch needs to start the entry in any mode. */
export function launcherSpec(plan: LauncherPlan, mode: RunMode): LauncherSpec {
  const word = (arg: LaunchArg): Word => ('literal' in arg ? { s: arg.literal } : { b: arg.bundlePath });
  const logical = (arg: LaunchArg): Word => ('literal' in arg ? { s: arg.literal } : { s: arg.bundlePath.slice(plan.payload.length) });
  const hostArgs = [...(plan.hostArgs ?? []), ...plan.args].map(word);
  let host: Word[];
  if (plan.loader === undefined) {
    host = [{ b: plan.program }, plan.kind === 'script' ? { b: plan.program } : { argv0: true }, ...hostArgs];
  } else {
    host = [
      { b: plan.loader }, { b: plan.loader },
      { s: '--library-path' }, { paths: plan.libraryPath ?? [] },
      ...(plan.argv0 ? [{ s: '--argv0' }, plan.kind === 'script' ? { b: plan.program } : findsItselfByArgv0(plan) ? { b: plan.path } : { argv0: true as const }] : []),
      { b: plan.program }, ...hostArgs,
    ];
  }
  return {
    schema: 'sidebundle/launcher@1',
    name: plan.name,
    mode,
    payload: plan.payload,
    root: [{ s: plan.logicalProgram }, plan.kind === 'script' ? { s: plan.logicalProgram } : { argv0: true }, ...plan.args.map(logical)],
    host,
    env: plan.env,
    hostEnv: plan.hostEnv,
    ...(plan.rootEnv ? { rootEnv: plan.rootEnv } : {}),
    helpersOnPath: plan.helpersOnPath,
  };
}

function sortedEntries(env: Record<string, string>): Array<[string, string]> {
  return Object.entries(env).sort(([a], [b]) => (a < b ? -1 : 1));
}
