// Static closure of a set of entries inside one root: each program's loader, its libraries in
// the order glibc's loader maps them (breadth first, reusing what is already loaded), hwcaps
// variants, shebang interpreters, and the helper commands shell scripts call. Pure analysis:
// nothing is copied or hashed here (see resolve.ts for the step that adds digests).
// The parts: entry-requests.ts (finding and naming entries), programs.ts (ELF, script, jar),
// ld-walk.ts (the loader's search), traced-files.ts, copy-dir.ts; draft.ts is what they fill.
import type { ElfInfo } from '../elf';
import type { ClosureSymlink, Diagnostic, ExcludedFile, MissingLibrary, Reason, ResolvedEntry } from '../model/closure';
import type { TracedFile } from '../model/trace';
import { Draft } from './draft';
import { EntryRequests } from './entry-requests';
import { LoaderWalk } from './ld-walk';
import { Programs } from './programs';
import type { RootFs } from './rootfs';

export interface EntryRequest {
  /** Path of the program (absolute inside the root; relative to `cwd` on the host; a bare
   * name is looked up on PATH inside the root). */
  path: string;
  /** Launcher name; defaults to the basename of `path`. */
  name?: string;
}

export interface ClosureOptions {
  /** Directory that is `/` for the entries (default `/`, the host). */
  root?: string;
  entries: EntryRequest[];
  /** Searched like LD_LIBRARY_PATH, before DT_RUNPATH and the cache (logical directories). */
  libraryPath?: string[];
  /** Bundle GPU/DRM driver libraries instead of leaving them to the target. */
  allowGpuLibs?: boolean;
  /** Bundle the helper commands shell script entries call (default true). */
  scanScripts?: boolean;
  /** Base for relative entry paths on the host root (default: process.cwd()). */
  cwd?: string;
  /** Directories searched for bare command names and `#!/usr/bin/env NAME` (inside the root). */
  searchPath?: string[];
  /** Replace the loader's system directories (validation uses [] : nothing outside the bundle). */
  systemDirs?: string[];
  /** Consult the root's /etc/ld.so.cache (default true). */
  useLdCache?: boolean;
  /** Files traced runs touched (already filtered by the exclusion policy), to add as well. */
  traced?: TracedRun[];
  /** Reuse a view of the root (and what it has read) instead of a new one. */
  rootFs?: RootFs;
  /** Copy these trees into the bundle: `source` inside the root, `dest` its logical path there. */
  copyDirs?: Array<{ source: string; dest?: string }>;
  /** Secrets a copied tree may ship anyway (--allow-secret): logical files or directories. */
  allowSecret?: string[];
  /** Script interpreters chosen instead of the one the #! line (or PATH) names (--node). */
  interpreters?: InterpreterOverrides;
  /** Told the host path of each file as it joins the closure (the resolve step starts its
   * hash then, on another core, while the walk goes on). */
  onFile?: (hostPath: string) => void;
}

/** Interpreter programs by language, logical paths inside the root. */
export interface InterpreterOverrides {
  /** Runs scripts whose #! names node or nodejs (directly or through env). */
  node?: string;
}

/** One traced run of an entry: what it touched, and the loader that resolves its libraries. */
export interface TracedRun {
  entry: string;
  command: string[];
  loader?: string;
  files: TracedFile[];
  /** The reason its files get instead of `traced` (files added by lib/collect). */
  reason?: Reason;
  /** Names of libraries the process loaded before these files (collection: the family's
   * libraries the bundle has already); they satisfy a DT_NEEDED of that name. */
  loadedBefore?: string[];
}

export interface ClosureFileDraft {
  path: string;
  /** Where it is read inside the root, when that is not `path` (--copy-dir SRC:DEST). */
  from?: string;
  kind: 'elf' | 'script' | 'data';
  elf?: ElfInfo;
  reasons: Reason[];
}

export interface ClosureDraft {
  root: string;
  entries: ResolvedEntry[];
  files: ClosureFileDraft[];
  symlinks: ClosureSymlink[];
  missing: MissingLibrary[];
  excluded: ExcludedFile[];
  diagnostics: Diagnostic[];
  dirs: string[];
  libraryPathExtras: Array<{ entry: string; dirs: string[] }>;
  /** The view used, with every probe it made (for content-keyed caching). */
  fs: RootFs;
}

/** Build the static closure of `options.entries` inside `options.root`. */
export function buildClosure(options: ClosureOptions): ClosureDraft {
  const draft = new Draft(options);
  const walk = new LoaderWalk(draft);
  const programs = new Programs(draft, walk);
  programs.checkInterpreters();
  const entries = new EntryRequests(draft, programs);
  for (const request of options.entries) entries.addEntry(request);
  // Required only when used: `sidebundle resolve` has neither, and the copy-dir code brings the
  // secret and exclusion rules (four modules of start-up it would not use).
  if (options.traced?.length) {
    const { TracedFiles } = require('./traced-files') as typeof import('./traced-files');
    const traced = new TracedFiles(draft, walk, programs);
    for (const run of options.traced) for (const file of run.files) traced.addTraced(file, run);
  }
  if (options.copyDirs?.length) {
    const { addCopyDir } = require('./copy-dir') as typeof import('./copy-dir');
    for (const copy of options.copyDirs) addCopyDir(draft, copy.source, copy.dest ?? copy.source);
  }
  return draft.finish();
}
