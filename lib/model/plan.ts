// MergedPlan: the whole bundle as data, before anything is written. Every path is relative to
// the bundle directory; `source` is where the packager reads the bytes on this machine.
import type { Diagnostic, EntryKind, ExcludedFile, MissingLibrary, Reason } from './closure';

export interface PlanFile {
  /** Path inside the bundle (`payload/usr/bin/jq`). */
  path: string;
  /** Absolute path to read on the build machine. */
  source: string;
  sha256: string;
  size: number;
  mode: number;
  kind: 'elf' | 'script' | 'data';
  /** ELF programs: their PT_INTERP (they need the bundled loader to run). */
  interpreter?: string;
  reasons: Reason[];
}

export interface PlanSymlink {
  /** Path inside the bundle. */
  path: string;
  /** Relative target that stays inside the payload it belongs to. */
  target: string;
}

/** An argument for a launcher: literal, or a bundle path made absolute at run time. */
export type LaunchArg = { literal: string } | { bundlePath: string };

export interface LauncherPlan {
  name: string;
  /** Where the launcher goes in the bundle: bin/<name> for entries, exec/<dir>/<name> for the
   * programs an entry executes by absolute path (see `shims`). */
  path: string;
  kind: EntryKind;
  /** The ELF to run (for scripts: the interpreter), bundle path. */
  program: string;
  /** Dynamic programs: the bundled loader and its --library-path (bundle paths). */
  loader?: string;
  libraryPath?: string[];
  /** The loader understands --argv0 (glibc 2.33 and later). */
  argv0: boolean;
  /** Arguments placed before the user's (script interpreter args, then the script itself). */
  args: LaunchArg[];
  /** Arguments between the program and `args` in host run mode only (node's --require of the
   * preload that sets process.execPath, lib/merge/node-exec-path.ts). */
  hostArgs?: LaunchArg[];
  /** Put the bundle's bin/ first on PATH (shell scripts whose helpers are bundled). */
  helpersOnPath: boolean;
  /** Extra environment (--set-env), every run mode; `${SIDEBUNDLE_ROOT}` in a value is the
   * bundle directory. */
  env: Record<string, string>;
  /** Environment that points the program at its payload (PYTHONHOME, GIT_EXEC_PATH, ...): host
   * mode only, where the payload is not `/`. */
  hostEnv: Record<string, string>;
  /** Environment for the payload-as-root run modes (logical paths); --set-env wins. */
  rootEnv?: Record<string, string>;
  /** The payload directory the program's files live in (`payload`). */
  payload: string;
  /** Logical path of the program in its root (for run modes that make the payload `/`). */
  logicalProgram: string;
}

export interface PlanRoot {
  /** Absolute directory on the build machine. */
  root: string;
  /** An image reference and digest, when the root is an image. */
  source?: string;
  /** Its payload directory in the bundle. */
  payload: string;
}

export interface Conflict {
  /** Logical path that two roots provide with different content. */
  path: string;
  roots: Array<{ root: string; sha256: string; payload: string }>;
  resolution: string;
}

export interface MergedPlan {
  schema: 'sidebundle/plan@1';
  name: string;
  roots: PlanRoot[];
  files: PlanFile[];
  symlinks: PlanSymlink[];
  /** Directories to create even when empty (directories traced runs listed). */
  dirs: string[];
  launchers: LauncherPlan[];
  /** Launchers standing in for programs that entries execute from a directory they are told
   * about (GIT_EXEC_PATH=exec/usr/lib/git-core): each runs its program with the bundled loader. */
  shims: LauncherPlan[];
  missing: Array<MissingLibrary & { root: string }>;
  excluded: Array<ExcludedFile & { root: string }>;
  conflicts: Conflict[];
  diagnostics: Diagnostic[];
}
