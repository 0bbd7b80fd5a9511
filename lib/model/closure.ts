// ResolvedClosure: everything one root contributes to a bundle, found by static analysis (and
// later extended by tracing). Plain JSON, versioned by `schema`; paths are logical (absolute
// inside `root`), so a closure of an image rootfs reads the same as one of the host.

/** The PATH commands are looked up on inside a root (Debian's default for root): the resolver's
 * for bare names and `#!/usr/bin/env NAME`, a traced run's, and an image's without its own. */
export const DEFAULT_PATH: readonly string[] = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** Why a file is in the bundle. */
export type Reason =
  | { kind: 'entry'; entry: string }
  | { kind: 'interpreter'; of: string }
  | { kind: 'needed'; name: string; by: string; via: SearchSource }
  | { kind: 'hwcaps-variant'; of: string; level: string }
  | { kind: 'script-interpreter'; of: string }
  | { kind: 'script'; entry: string }
  | { kind: 'helper'; of: string; command: string }
  | { kind: 'traced'; entry: string; command: string; op: string }
  | { kind: 'copy-dir'; source: string }
  /** /etc/ld.so.cache: the bundled loader reads it when the payload is the root (run modes). */
  | { kind: 'loader-cache' }
  /** Added by collection (lib/collect) for the paths a trace never took: `family` is the
   * collector (python, perl, plugin-dirs), `what` the reason a reader sees ("python stdlib",
   * "python distribution PyYAML", "plugin dir of /usr/lib/x86_64-linux-gnu/gconv/ISO8859-1.so"). */
  | { kind: 'collected'; family: string; what: string };

/** How the dynamic loader found a library (glibc's search order, in order). */
export type SearchSource = 'path' | 'rpath' | 'library-path' | 'runpath' | 'ld.so.cache' | 'default-dirs';

export interface ElfSummary {
  soname?: string;
  needed: string[];
  interpreter?: string;
  /** GLIBC_x.y (and other) versions needed, per DT_NEEDED library. */
  versionNeeds: Array<{ file: string; versions: string[] }>;
}

export interface ClosureFile {
  /** Canonical logical path (no symlink in it): where the file goes in the payload. */
  path: string;
  /** Where to read it inside the root, when that differs from `path` (--copy-dir SRC:DEST). */
  from?: string;
  size: number;
  /** Permission bits (0o755 style). */
  mode: number;
  sha256: string;
  kind: 'elf' | 'script' | 'data';
  elf?: ElfSummary;
  reasons: Reason[];
}

export interface ClosureSymlink {
  /** Logical path of the link (its parent directories canonical). */
  path: string;
  /** Target exactly as stored in the root. */
  target: string;
}

export type EntryKind = 'elf-dynamic' | 'elf-static' | 'script';

/** A literal argument, or a file of the closure (given to the program by its bundle path). */
export type ScriptArg = { literal: string } | { path: string };

export interface ResolvedEntry {
  /** Launcher name (bin/<name>). */
  name: string;
  /** The path the user named (logical; may be a symlink). */
  path: string;
  /** Canonical logical path of the program file. */
  target: string;
  kind: EntryKind;
  /** Dynamic ELF (or a script's interpreter): the dynamic loader, canonical logical path. */
  loader?: string;
  /** Directories (canonical, logical) the loader must search, in order: `--library-path`. */
  libraryPath?: string[];
  /** Highest GLIBC_x.y the bundled libc defines (the loader's options depend on it). */
  glibc?: string;
  /** Scripts: the interpreter chain resolved to an ELF program. */
  script?: {
    /** Canonical logical path of the ELF interpreter. */
    interpreter: string;
    /** The interpreter path as written after #! (or found on PATH for #!/usr/bin/env NAME). */
    interpreterPath: string;
    /** Arguments the kernel passes between the interpreter and the script: the shebang
     * argument, and intermediate scripts when an interpreter is itself a script. */
    args: ScriptArg[];
  };
  /** Set for helper commands found by scanning a shell script entry. */
  helperOf?: string;
  /** True when a shell script's helpers are bundled: its launcher puts bin/ first on PATH. */
  usesHelpers?: boolean;
}

export interface Diagnostic {
  level: 'warning' | 'info';
  code: string;
  message: string;
  input?: string;
  /** The chain of objects that led here (entry first). */
  chain?: string[];
}

export interface MissingLibrary {
  name: string;
  /** Why the search failed where it is more than "no such file" (e.g. a symlink loop). */
  why?: string;
  /** Entry first, then each object down to the one whose DT_NEEDED names `name`. */
  chain: string[];
}

export interface ExcludedFile {
  path: string;
  reason: string;
  /** A traced run read it and it still exists on the build machine: `lost` when the target is
   * not expected to provide it (a file in a home or temporary directory: the bundle may fail
   * without it, and --strict-validate says so), `secret` when it is withheld on purpose. */
  impact?: 'lost' | 'secret';
  /** The object whose DT_NEEDED asked for it, and the name it asked by. */
  neededBy?: string;
  neededName?: string;
}

export interface ResolvedClosure {
  schema: 'sidebundle/closure@1';
  /** Absolute directory on the build machine that is `/` for the logical paths. */
  root: string;
  /** Where that root comes from, when it is not the host (an image reference and digest). */
  source?: string;
  entries: ResolvedEntry[];
  files: ClosureFile[];
  symlinks: ClosureSymlink[];
  missing: MissingLibrary[];
  excluded: ExcludedFile[];
  diagnostics: Diagnostic[];
  /** Directories a traced run listed (created in the payload even when empty). */
  dirs?: string[];
  /** Directories to add to an entry's --library-path: where traced runs loaded libraries by name. */
  libraryPathExtras?: Array<{ entry: string; dirs: string[] }>;
  /** The user's own projects the entries belong to; their files are at `at` in the payload. */
  projects?: Project[];
}

/** A user's own project (the directory an entry script belongs to, see lib/resolve/project.ts):
 * shipped at a path that does not depend on where it is checked out. */
export interface Project {
  /** Canonical logical directory on the build machine (/root/src/tool). */
  dir: string;
  /** Its place in the payload (/opt/sidebundle/tool); every path of the closure under `dir` is
   * there instead, read from `dir` (ClosureFile.from). Equal to `dir` for a project that stays in
   * place (one with a program entry). */
  at: string;
}
