// Static closure of a set of entries inside one root: each program's loader, its libraries in
// the order glibc's loader maps them (breadth first, reusing what is already loaded), hwcaps
// variants, shebang interpreters, and the helper commands shell scripts call. Pure analysis:
// nothing is copied or hashed here (see resolve.ts for the step that adds digests).
import { closeSync, openSync, readFileSync, readlinkSync, readSync } from 'node:fs';
import * as path from 'node:path';

import { hasElfMagic, type ElfInfo } from '../elf';
import { SidebundleError, isSidebundleError } from '../errors';
import type { TracedFile } from '../model/trace';
import { entryNameProblem, validateEntryName } from '../model/names';
import { redactedCommand } from '../util/redact';
import { VCS_REASON, within } from '../policy/policy';
import { secretByName, secretChecker } from '../policy/secrets';
import type {
  ClosureSymlink, Diagnostic, EntryKind, ExcludedFile, MissingLibrary, Reason, ResolvedEntry, SearchSource,
} from '../model/closure';
import { GPU_EXCLUSION_REASON, isGpuLibrary } from './gpu';
import { parseLdCache, type LdCache } from './ldcache';
import { loaderConfig, type LoaderConfig } from './loader-config';
import { joinLogical, RootFs, type SymlinkHop, type Walk } from './rootfs';
import { scanShellCommands } from './script-scan';
import { dirname, searchLibrary, type LoadedObject, type SearchContext } from './search';
import { entryShebang, envCommand, isShellInterpreter, parseShebang, SHEBANG_LIMIT } from './shebang';

export const DEFAULT_PATH = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];
/** The kernel follows at most this many nested script interpreters (BINPRM recursion). */
const MAX_INTERPRETER_DEPTH = 4;
const MAX_SCRIPT_SCAN = 1024 * 1024;
/** Interpreter names --node replaces (Debian once shipped node as nodejs). */
const NODE_NAMES = new Set(['node', 'nodejs']);

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
  const builder = new ClosureBuilder(options);
  builder.checkInterpreters();
  for (const request of options.entries) builder.addEntry(request);
  for (const run of options.traced ?? []) for (const file of run.files) builder.addTraced(file, run);
  for (const copy of options.copyDirs ?? []) builder.addCopyDir(copy.source, copy.dest ?? copy.source);
  return builder.finish();
}

class ClosureBuilder {
  private readonly fs: RootFs;
  private readonly files = new Map<string, ClosureFileDraft>();
  private readonly symlinks = new Map<string, string>();
  private readonly entries: ResolvedEntry[] = [];
  private readonly missing: MissingLibrary[] = [];
  private readonly excluded = new Map<string, ExcludedFile>();
  private readonly diagnostics: Diagnostic[] = [];
  private readonly configs = new Map<string, LoaderConfig>();
  private readonly dirs = new Set<string>();
  private readonly libraryPathExtras = new Map<string, string[]>();
  private readonly openedNames = new WeakMap<TracedRun, ReadonlySet<string>>();
  private ldCache: LdCache | null | undefined;

  constructor(private readonly options: ClosureOptions) {
    this.fs = options.rootFs ?? new RootFs(options.root ?? '/');
  }

  finish(): ClosureDraft {
    const byPath = <T extends { path: string }>(a: T, b: T) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
    return {
      root: this.fs.root,
      entries: this.entries,
      files: [...this.files.values()].sort(byPath),
      symlinks: [...this.symlinks].map(([p, target]) => ({ path: p, target })).sort(byPath),
      missing: this.missing,
      excluded: [...this.excluded.values()].sort(byPath),
      diagnostics: this.diagnostics,
      dirs: [...this.dirs].sort(),
      libraryPathExtras: [...this.libraryPathExtras].map(([entry, dirs]) => ({ entry, dirs })).sort((a, b) => (a.entry < b.entry ? -1 : 1)),
      fs: this.fs,
    };
  }

  addEntry(request: EntryRequest, helperOf?: string): ResolvedEntry | undefined {
    const logical = this.entryPath(request.path);
    const walk = this.walkEntry(logical, request.path);
    const name = request.name ?? path.posix.basename(request.path);
    if (helperOf !== undefined && entryNameProblem(name) !== undefined) {
      this.note('info', 'HELPER_UNNAMEABLE', `helper ${JSON.stringify(name)} of ${helperOf} is not bundled: ${entryNameProblem(name)}`, request.path);
      return undefined;
    }
    validateEntryName(name, request.path);
    const existing = this.entries.find((e) => e.name === name);
    if (existing) {
      if (existing.target === walk.path) return existing;
      if (helperOf !== undefined) {
        this.note('info', 'HELPER_SHADOWED', `helper ${name} of ${helperOf} is not bundled: an entry named ${name} already exists`, request.path);
        return undefined;
      }
      throw new SidebundleError('ENTRY_NAME_CONFLICT', `two entries are named ${name}: ${existing.path} and ${request.path}`, {
        input: request.path,
        kind: 'input',
        hint: 'each entry gets a launcher bin/<name>; bundle programs with different names',
      });
    }
    const reason: Reason = helperOf === undefined ? { kind: 'entry', entry: name } : { kind: 'helper', of: helperOf, command: name };
    // A jar entry is run by `java -jar` (a helper named like one is a program like any other).
    const entry = helperOf === undefined && isJar(this.readHead(walk.path), walk.path) ? this.jarProgram(walk, reason, name, request.path) : this.program(walk, reason, name, request.path, 0);
    if (helperOf !== undefined) entry.helperOf = helperOf;
    this.entries.push(entry);
    if (entry.kind === 'script' && entry.script && isShellInterpreter(entry.script.interpreterPath) && this.options.scanScripts !== false) {
      this.addHelpers(entry);
    }
    return entry;
  }

  /**
   * A file a traced run touched. Programs it executed come with their loader and libraries,
   * libraries it loaded with theirs (resolved as the entry's loader resolves them), scripts with
   * their interpreter; anything else is data. Directories it listed are recorded. The symlinks
   * on the way are kept, so the bundle answers at the path the program used.
   */
  addTraced(file: TracedFile, trace: TracedRun): void {
    const reason: Reason = trace.reason ?? { kind: 'traced', entry: trace.entry, command: redactedCommand(trace.command), op: file.ops.join(',') };
    let walk: Walk | null;
    try {
      walk = this.fs.resolve(file.path);
    } catch (error) {
      if (!isSidebundleError(error)) throw error;
      this.note('info', error.code, `traced ${file.path}: ${error.message}`, file.path);
      return;
    }
    if (walk === null) {
      this.note('info', 'TRACED_VANISHED', `traced ${file.path} no longer exists (a temporary file?)`, file.path);
      return;
    }
    this.addLinks(walk.links);
    if (walk.stats.isDirectory()) {
      this.dirs.add(walk.path);
      return;
    }
    if (!walk.stats.isFile()) return;
    const head = this.readHead(walk.path);
    if (file.ops.includes('exec') && (hasElfMagic(head) || parseShebang(head))) {
      try {
        this.program(walk, reason, path.posix.basename(walk.path), file.path, 0);
      } catch (error) {
        if (!isSidebundleError(error)) throw error;
        this.note('warning', 'TRACED_PROGRAM_SKIPPED', `${file.path} ran during the trace but cannot be bundled: ${error.message}`, file.path);
      }
      return;
    }
    if (hasElfMagic(head)) {
      let info: ElfInfo;
      try {
        info = this.fs.elf(walk.path);
      } catch {
        this.addFile(walk.path, 'data', reason); // an ELF of another machine, read as data
        return;
      }
      this.addTracedLibrary(walk, file.path, info, reason, trace);
      return;
    }
    this.addFile(walk.path, 'data', reason);
  }

  private addTracedLibrary(walk: Walk, openedAs: string, info: ElfInfo, reason: Reason, trace: TracedRun): void {
    if (!this.options.allowGpuLibs && isGpuLibrary(path.posix.basename(walk.path))) {
      this.excluded.set(walk.path, { path: walk.path, reason: GPU_EXCLUSION_REASON });
      return;
    }
    this.addFile(walk.path, 'elf', reason, info);
    const loaderWalk = trace.loader === undefined ? null : this.fs.resolve(trace.loader);
    if (loaderWalk === null || !loaderWalk.stats.isFile()) return;
    const library: LoadedObject = { path: walk.path, foundAs: openedAs, info, source: 'program', links: walk.links, variants: [] };
    this.loadDependencies(library, info.interpreter ?? trace.loader!, loaderWalk, this.fs.elf(loaderWalk.path), this.namesOpenedBy(trace));
    // A library found where the loader looks by default (the cache, the system directories) may
    // have been loaded by name (dlopen("libfoo.so.3")): the bundled loader must search there.
    const dir = dirname(openedAs);
    const ctx = this.searchContext(loaderWalk.path);
    const standard = ctx.config.systemDirs.includes(dir) || (ctx.cache?.entries.some((e) => dirname(e.path) === dir) ?? false);
    const searched = this.fs.resolve(dir);
    if (standard && searched) {
      const dirs = this.libraryPathExtras.get(trace.entry) ?? [];
      if (!dirs.includes(searched.path)) dirs.push(searched.path);
      this.libraryPathExtras.set(trace.entry, dirs);
    }
  }

  /** A directory tree copied as data: files, symlinks (kept as links) and subdirectories. */
  addCopyDir(source: string, dest: string): void {
    const logical = source.startsWith('/') ? source : path.resolve(this.options.cwd ?? process.cwd(), source);
    const walk = this.fs.resolve(logical);
    if (walk === null || !walk.stats.isDirectory()) {
      throw new SidebundleError('COPY_DIR_NOT_FOUND', `--copy-dir ${source} is not a directory${this.fs.root === '/' ? '' : ` inside ${this.fs.root}`}`, {
        input: source,
        kind: 'input',
        hint: 'give an existing directory, optionally followed by :DEST (its absolute path in the bundle)',
      });
    }
    if (/^\/(proc|sys|dev)(\/|$)/.test(walk.path)) {
      throw new SidebundleError('COPY_DIR_VIRTUAL', `--copy-dir ${source} is ${walk.path}, part of a kernel virtual file system`, {
        input: source,
        kind: 'input',
        hint: 'its files describe this machine and change while they are read; copy real data instead',
      });
    }
    if (!dest.startsWith('/')) {
      throw new SidebundleError('COPY_DIR_BAD_DEST', `--copy-dir destination ${dest} is not absolute`, {
        input: dest,
        kind: 'input',
        hint: 'write SRC:DEST with DEST an absolute path, e.g. --copy-dir ./share:/opt/app/share',
      });
    }
    // A copied tree is data the user chose, but a key or token in it still needs --allow-secret.
    const secretIn = secretChecker((p) => this.fs.hostPath(p));
    const allowed = (p: string) => (this.options.allowSecret ?? []).some((a) => within(p, a));
    const visit = (from: string, to: string) => {
      for (const item of this.fs.readdir(from)) {
        const itemFrom = `${from === '/' ? '' : from}/${item.name}`;
        const itemTo = `${to === '/' ? '' : to}/${item.name}`;
        // secretIn judges a file by name, inode and content; a directory is judged by its name.
        const secret = allowed(itemFrom) ? undefined : item.name === '.git' ? VCS_REASON : item.isFile() ? secretIn(itemFrom) : item.isDirectory() ? secretByName(itemFrom) : undefined;
        if (secret) {
          this.excluded.set(itemFrom, { path: itemFrom, reason: secret, impact: 'secret' });
          this.note('warning', 'COPY_DIR_SECRET', `--copy-dir leaves out ${itemFrom}: ${secret} (to ship it: --allow-secret ${itemFrom})`, itemFrom);
          continue;
        }
        if (item.isDirectory()) visit(itemFrom, itemTo);
        else if (item.isSymbolicLink()) this.symlinks.set(itemTo, readlinkSync(this.fs.hostPath(itemFrom)));
        else if (item.isFile()) {
          this.addFile(itemTo, 'data', { kind: 'copy-dir', source: itemFrom });
          if (itemFrom !== itemTo) this.files.get(itemTo)!.from = itemFrom;
        }
      }
    };
    visit(walk.path, path.posix.normalize(dest));
  }

  /** The logical path of an entry: absolute, cwd-relative on the host, or found on PATH. */
  private entryPath(spec: string): string {
    if (spec.startsWith('/')) return spec;
    if (!spec.includes('/')) {
      const found = this.findOnPath(spec);
      if (found) return found;
    }
    if (this.fs.root !== '/') {
      throw new SidebundleError('ENTRY_NOT_ABSOLUTE', `entry ${spec} must be an absolute path inside the root ${this.fs.root}`, {
        input: spec,
        kind: 'input',
        hint: 'with --trace-root or an image, name programs by their absolute path inside that root',
      });
    }
    return path.resolve(this.options.cwd ?? process.cwd(), spec);
  }

  private walkEntry(logical: string, spec: string): Walk {
    const walk = this.fs.resolve(logical);
    const where = this.fs.root === '/' ? '' : ` inside ${this.fs.root}`;
    if (walk === null) {
      throw new SidebundleError('ENTRY_NOT_FOUND', `entry ${spec} does not exist${where}`, {
        input: spec,
        kind: 'input',
        hint: 'check the path; a bare name is looked up on PATH',
      });
    }
    if (!walk.stats.isFile()) {
      throw new SidebundleError('ENTRY_NOT_FILE', `entry ${spec} is not a regular file${where}`, {
        input: spec,
        kind: 'input',
        hint: 'name a program file (use --copy-dir for directories of data)',
      });
    }
    return walk;
  }

  /** An override of the interpreter a #! line resolved to: --node for node and nodejs (the
   * name env looks up, or the named program's basename, which also catches /usr/bin/nodejs). */
  private interpreterOverride(interpreterPath: string): string | undefined {
    const node = this.options.interpreters?.node;
    return node !== undefined && NODE_NAMES.has(path.posix.basename(interpreterPath)) ? node : undefined;
  }

  /** Fail before anything is resolved when an override is not a program in the root: a bad
   * --node must not wait for the first Node entry (or pass silently without one). */
  checkInterpreters(): void {
    const node = this.options.interpreters?.node;
    if (node === undefined) return;
    const inside = this.fs.root === '/' ? '' : ` inside ${this.fs.root}`;
    const walk = this.fs.resolve(node);
    if (walk === null || !walk.stats.isFile()) {
      throw new SidebundleError('NODE_NOT_FOUND', `--node ${node} ${walk === null ? 'does not exist' : 'is not a regular file'}${inside}`, {
        input: node,
        kind: 'input',
        hint: 'give the path of a node program (e.g. ~/.nvm/versions/node/v20.11.1/bin/node), or leave --node out to use the node on PATH',
      });
    }
    if (!hasElfMagic(this.readHead(walk.path))) {
      throw new SidebundleError('NODE_NOT_A_PROGRAM', `--node ${node} is not an ELF program${inside}`, {
        input: node,
        kind: 'input',
        hint: 'name the node binary itself, not a wrapper script or a version manager\'s shim (e.g. `nvm which 20`, or readlink -f "$(command -v node)")',
      });
    }
  }

  /** Analyse a program file (ELF or script) reached by `walk`. */
  private program(walk: Walk, reason: Reason, name: string, spec: string, depth: number): ResolvedEntry {
    this.addLinks(walk.links);
    const head = this.readHead(walk.path);
    if (hasElfMagic(head)) return this.elfProgram(walk, reason, name, spec);
    // Only the entry itself may be a .js file without #!; an interpreter must be a program.
    const shebang = depth === 0 ? entryShebang(head, walk.path) : parseShebang(head);
    if (shebang === undefined) {
      throw new SidebundleError('ENTRY_NOT_PROGRAM', `${spec} is neither an ELF program nor a script with #!`, {
        input: spec,
        kind: 'input',
        hint: 'give a dynamically linked x86-64 executable or a script starting with #!; data files go in with --copy-dir',
      });
    }
    if (depth >= MAX_INTERPRETER_DEPTH) {
      throw new SidebundleError('SCRIPT_INTERPRETER_LOOP', `${spec}: interpreters nest more than ${MAX_INTERPRETER_DEPTH} deep`, {
        input: spec,
        kind: 'input',
        hint: 'the kernel refuses this too (ELOOP); point the #! line at a real program',
      });
    }
    this.addFile(walk.path, 'script', reason);

    let interpreterPath = shebang.interpreter;
    let args: string[] = shebang.arg === undefined ? [] : [shebang.arg];
    if (path.posix.basename(interpreterPath) === 'env') {
      const command = envCommand(shebang.arg);
      if (command) {
        const found = command.name.includes('/') ? command.name : this.findOnPath(command.name);
        if (found === undefined) {
          throw new SidebundleError('SCRIPT_INTERPRETER_NOT_FOUND', `${spec} runs "${command.name}" through env, and no ${command.name} is on PATH${this.fs.root === '/' ? '' : ` inside ${this.fs.root}`}`, {
            input: spec,
            kind: 'input',
            hint: `install ${command.name}, or change the #! line to its absolute path`,
          });
        }
        interpreterPath = found;
        args = command.args;
      }
    }
    interpreterPath = this.interpreterOverride(interpreterPath) ?? interpreterPath;
    const interpreterWalk = this.fs.resolve(interpreterPath.startsWith('/') ? interpreterPath : joinLogical(dirname(walk.path), interpreterPath));
    if (interpreterWalk === null || !interpreterWalk.stats.isFile()) {
      throw new SidebundleError('SCRIPT_INTERPRETER_NOT_FOUND', `${spec} names the interpreter ${interpreterPath}, which does not exist${this.fs.root === '/' ? '' : ` inside ${this.fs.root}`}`, {
        input: spec,
        kind: 'input',
        hint: 'fix the #! line or install the interpreter',
      });
    }
    const interpreter = this.program(interpreterWalk, { kind: 'script-interpreter', of: walk.path }, name, interpreterPath, depth + 1);
    const entry: ResolvedEntry = {
      name,
      path: spec,
      target: walk.path,
      kind: 'script',
      script: {
        interpreter: interpreter.script?.interpreter ?? interpreter.target,
        interpreterPath,
        // A script interpreter that is itself a script: the kernel runs its interpreter with the
        // intermediate script's path and argument in front (binfmt_script, recursively).
        args: [
          ...(interpreter.kind === 'script' ? [...interpreter.script!.args, { path: interpreter.target }] : []),
          ...args.map((literal) => ({ literal })),
        ],
      },
    };
    if (interpreter.loader !== undefined) entry.loader = interpreter.loader;
    if (interpreter.libraryPath !== undefined) entry.libraryPath = interpreter.libraryPath;
    if (interpreter.glibc !== undefined) entry.glibc = interpreter.glibc;
    return entry;
  }

  /** A jar is run like a script whose interpreter is `java -jar` (the java found on PATH): the
   * JVM family (lib/collect/jvm.ts) ships the runtime and the jar's class path. */
  private jarProgram(walk: Walk, reason: Reason, name: string, spec: string): ResolvedEntry {
    this.addLinks(walk.links);
    const java = this.findOnPath('java');
    const javaWalk = java === undefined ? null : this.fs.resolve(java);
    if (java === undefined || javaWalk === null) {
      throw new SidebundleError('JAVA_NOT_FOUND', `${spec} is a jar, and no java is on PATH${this.fs.root === '/' ? '' : ` inside ${this.fs.root}`} to run it`, {
        input: spec,
        kind: 'input',
        hint: 'install a Java runtime (Debian: default-jre-headless), or bundle a script that runs the java you want',
      });
    }
    this.addFile(walk.path, 'data', reason);
    const interpreter = this.program(javaWalk, { kind: 'script-interpreter', of: walk.path }, name, java, 1);
    const entry: ResolvedEntry = {
      name,
      path: spec,
      target: walk.path,
      kind: 'script',
      script: { interpreter: interpreter.script?.interpreter ?? interpreter.target, interpreterPath: java, args: [{ literal: '-jar' }] },
    };
    if (interpreter.loader !== undefined) entry.loader = interpreter.loader;
    if (interpreter.libraryPath !== undefined) entry.libraryPath = interpreter.libraryPath;
    if (interpreter.glibc !== undefined) entry.glibc = interpreter.glibc;
    return entry;
  }

  private elfProgram(walk: Walk, reason: Reason, name: string, spec: string): ResolvedEntry {
    const info = this.fs.elf(walk.path);
    this.addFile(walk.path, 'elf', reason, info);
    if (info.interpreter === undefined) {
      if (info.needed.length > 0) {
        throw new SidebundleError('ENTRY_NOT_PROGRAM', `${spec} is a shared library without a program interpreter, not a program`, {
          input: spec,
          kind: 'input',
          hint: 'bundle the program that uses it; it comes along as a dependency',
        });
      }
      return { name, path: spec, target: walk.path, kind: 'elf-static' as EntryKind };
    }
    const loaderWalk = this.fs.resolve(info.interpreter);
    if (loaderWalk === null || !loaderWalk.stats.isFile()) {
      const inside = this.fs.root === '/' ? '' : ` inside ${this.fs.root}`;
      if (loaderWalk === null) {
        throw new SidebundleError('ENTRY_LOADER_MISSING', `${spec} needs the dynamic loader ${info.interpreter}, which does not exist${inside}`, {
          input: spec,
          kind: 'input',
          hint: 'the program was built for another system (e.g. musl vs glibc); bundle it from the root it was built for',
        });
      }
      // A PT_INTERP of /etc or /dev/zero exists; saying it does not would send the user looking for it.
      const s = loaderWalk.stats;
      const kind = s.isDirectory() ? 'a directory' : s.isCharacterDevice() ? 'a character device' : s.isBlockDevice() ? 'a block device' : s.isFIFO() ? 'a FIFO' : s.isSocket() ? 'a socket' : 'a special file';
      throw new SidebundleError('ENTRY_LOADER_MISSING', `${spec} names ${info.interpreter} as its dynamic loader, but ${info.interpreter}${inside} is ${kind}, not a regular file, so it cannot be a loader`, {
        input: spec,
        kind: 'input',
        hint: 'the program\'s PT_INTERP is damaged or crafted; a loader is a regular file such as /lib64/ld-linux-x86-64.so.2',
      });
    }
    this.addLinks(loaderWalk.links);
    const loaderInfo = this.fs.elf(loaderWalk.path);
    this.addFile(loaderWalk.path, 'elf', { kind: 'interpreter', of: walk.path }, loaderInfo);
    const program: LoadedObject = { path: walk.path, foundAs: walk.path, info, source: 'program', links: [], variants: [] };
    const objects = this.loadDependencies(program, info.interpreter, loaderWalk, loaderInfo);
    return {
      name,
      path: spec,
      target: walk.path,
      kind: 'elf-dynamic',
      loader: loaderWalk.path,
      libraryPath: this.libraryPath(objects),
      ...this.glibcOf(objects),
    };
  }

  /**
   * Map the dependencies of `program` (a program, or a library a traced run loaded) the way
   * ld.so does (elf/dl-deps.c): breadth first, the loader pre-loaded under its names.
   */
  private loadDependencies(program: LoadedObject, interpreter: string, loaderWalk: Walk, loaderInfo: ElfInfo, openedByRun?: ReadonlySet<string>): LoadedObject[] {
    const rtld: LoadedObject = { path: loaderWalk.path, foundAs: interpreter, info: loaderInfo, source: 'interpreter', links: loaderWalk.links, variants: [] };
    const byName = new Map<string, LoadedObject>([[interpreter, rtld]]);
    if (loaderInfo.soname) byName.set(loaderInfo.soname, rtld);
    const byPath = new Map<string, LoadedObject>([[program.path, program], [rtld.path, rtld]]);
    const ctx = this.searchContext(loaderWalk.path);
    const edges = new Map<LoadedObject, LoadedObject[]>();

    const queue = [program];
    while (queue.length > 0) {
      const object = queue.shift()!;
      const deps: LoadedObject[] = [];
      edges.set(object, deps);
      for (const needed of object.info.needed) {
        let dep = byName.get(needed);
        if (dep === undefined) {
          const loops = this.diagnostics.length;
          const found = searchLibrary(needed, object, ctx);
          // A library the same run loaded by path first satisfies the name without a search
          // (the JVM loads lib/server/libjvm.so, then libjava.so, which needs libjvm.so).
          if (found === null && openedByRun?.has(needed)) continue;
          if (found === null) {
            // Say why where a candidate was there but unusable (a symlink loop), not just "not found".
            const loop = this.diagnostics.slice(loops).find((d) => d.code === 'PATH_SYMLINK_LOOP');
            this.missing.push({ name: needed, chain: chainOf(object), ...(loop ? { why: `${loop.input} is a symlink loop` } : {}) });
            continue;
          }
          dep = byPath.get(found.path);
          if (dep === undefined) {
            dep = { ...found, loader: object, neededName: needed };
            byPath.set(dep.path, dep);
            if (this.keepLibrary(dep, needed, object)) queue.push(dep);
          }
          byName.set(needed, dep);
          if (dep.info.soname) byName.set(dep.info.soname, dep);
        }
        deps.push(dep);
      }
    }
    this.reportCycles(program, edges);
    return [...byPath.values()];
  }

  /** The file names a traced run opened (a library's name is the one DT_NEEDED asks for). */
  private namesOpenedBy(trace: TracedRun): ReadonlySet<string> {
    let names = this.openedNames.get(trace);
    if (names === undefined) {
      names = new Set([...trace.files.map((f) => path.posix.basename(f.path)), ...(trace.loadedBefore ?? [])]);
      this.openedNames.set(trace, names);
    }
    return names;
  }

  /** Add a found library (and its variants) to the closure, unless it is a GPU driver. */
  private keepLibrary(dep: LoadedObject, needed: string, by: LoadedObject): boolean {
    if (!this.options.allowGpuLibs && isGpuLibrary(path.posix.basename(dep.path))) {
      this.excluded.set(dep.path, { path: dep.path, reason: GPU_EXCLUSION_REASON, neededBy: by.path, neededName: needed });
      return false;
    }
    this.addLinks(dep.links);
    this.addFile(dep.path, 'elf', { kind: 'needed', name: needed, by: by.path, via: dep.source as SearchSource }, dep.info);
    if (dep.source === 'path') {
      this.note('warning', 'NEEDED_BY_PATH', `${by.path} needs ${needed} by absolute path; on the target the loader opens that path outside the bundle unless it runs with the payload as root (bwrap/chroot/ns run modes)`, by.path, chainOf(by));
    }
    for (const variant of dep.variants) {
      this.addLinks(variant.links);
      this.addFile(variant.path, 'elf', { kind: 'hwcaps-variant', of: dep.path, level: variant.level }, variant.info);
    }
    return true;
  }

  /**
   * The bundled loader's --library-path for one program: the directories the host loader found
   * libraries in through the cache, the system directories, LD_LIBRARY_PATH or an absolute
   * RPATH/RUNPATH. Libraries found through $ORIGIN are found the same way inside the bundle.
   * Each directory is the canonical form of the directory the loader searched, so the soname
   * link the loader looks for is in it.
   */
  private libraryPath(objects: LoadedObject[]): string[] {
    const dirs: string[] = [];
    for (const object of objects) {
      if (object.source === 'program' || object.source === 'interpreter' || this.excluded.has(object.path)) continue;
      if (object.fromOrigin) continue;
      const searched = this.fs.resolve(dirname(object.foundAs));
      const dir = searched?.path ?? dirname(object.path);
      if (searched) this.addLinks(searched.links);
      if (!dirs.includes(dir)) dirs.push(dir);
    }
    return dirs;
  }

  /** The highest GLIBC_x.y the bundled libc defines: the loader's feature level. */
  private glibcOf(objects: LoadedObject[]): { glibc?: string } {
    const libc = objects.find((o) => o.info.soname === 'libc.so.6');
    const versions = (libc?.info.versionDefs ?? []).filter((v) => /^GLIBC_\d+\.\d+(\.\d+)?$/.test(v));
    if (versions.length === 0) return {};
    const key = (v: string) => v.slice(6).split('.').map(Number);
    versions.sort((a, b) => {
      const [x, y] = [key(a), key(b)];
      for (let i = 0; i < Math.max(x.length, y.length); i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0);
      return 0;
    });
    return { glibc: versions[versions.length - 1]!.slice(6) };
  }

  private reportCycles(program: LoadedObject, edges: Map<LoadedObject, LoadedObject[]>): void {
    const state = new Map<LoadedObject, 'active' | 'done'>();
    const stack: LoadedObject[] = [];
    const reported = new Set<string>();
    const visit = (object: LoadedObject) => {
      state.set(object, 'active');
      stack.push(object);
      for (const dep of edges.get(object) ?? []) {
        if (state.get(dep) === 'active') {
          const cycle = [...stack.slice(stack.indexOf(dep)), dep].map((o) => o.path);
          const key = [...cycle].sort().join('|');
          if (!reported.has(key)) {
            reported.add(key);
            this.note('warning', 'DEPENDENCY_CYCLE', `dependency cycle: ${cycle.join(' -> ')} (the loader handles it; it usually means a packaging mistake)`, dep.path, stack.map((o) => o.path));
          }
        } else if (!state.has(dep)) {
          visit(dep);
        }
      }
      stack.pop();
      state.set(object, 'done');
    };
    visit(program);
  }

  private searchContext(loaderPath: string | undefined): SearchContext {
    return {
      fs: this.fs,
      cache: this.loadLdCache(),
      config: this.loaderConfig(loaderPath),
      libraryPath: this.options.libraryPath ?? [],
      note: (code, message, input) => this.note('info', code, message, input),
      warn: (code, message, input) => this.note('warning', code, message, input),
    };
  }

  private loaderConfig(loaderPath: string | undefined): LoaderConfig {
    const key = loaderPath ?? '';
    let config = this.configs.get(key);
    if (config === undefined) {
      config = this.options.systemDirs !== undefined
        ? { ...loaderConfig(this.fs, undefined), systemDirs: this.options.systemDirs, exact: true }
        : loaderConfig(this.fs, loaderPath);
      if (!config.exact && loaderPath !== undefined) {
        this.note('info', 'LOADER_DIRS_GUESSED', `could not read the system directories of ${loaderPath}; searching the usual glibc directories`, loaderPath);
      }
      this.configs.set(key, config);
    }
    return config;
  }

  private loadLdCache(): LdCache | null {
    if (this.ldCache === undefined) {
      const walk = this.options.useLdCache === false ? null : this.fs.resolve('/etc/ld.so.cache');
      if (walk === null || !walk.stats.isFile()) {
        this.ldCache = null;
      } else {
        this.addLinks(walk.links);
        try {
          this.ldCache = parseLdCache(readFileSync(this.fs.hostPath(walk.path)), path.join(this.fs.root, 'etc/ld.so.cache'));
          this.addFile(walk.path, 'data', { kind: 'loader-cache' });
        } catch (error) {
          if (!isSidebundleError(error)) throw error;
          this.note('warning', error.code, `${error.message}; searching the system directories only`, '/etc/ld.so.cache');
          this.ldCache = null;
        }
      }
    }
    return this.ldCache;
  }

  private addHelpers(entry: ResolvedEntry): void {
    let text: string;
    try {
      text = readFileSync(this.fs.hostPath(entry.target)).subarray(0, MAX_SCRIPT_SCAN).toString('utf8');
    } catch {
      return;
    }
    for (const command of scanShellCommands(text)) {
      const found = this.findOnPath(command);
      if (found === undefined) continue;
      try {
        const helper = this.addEntry({ path: found, name: command }, entry.name);
        if (helper) entry.usesHelpers = true;
      } catch (error) {
        if (!isSidebundleError(error)) throw error;
        this.note('warning', 'HELPER_SKIPPED', `helper ${command} of ${entry.name} is not bundled: ${error.message}`, found);
      }
    }
  }

  /** PATH lookup inside the root, like execvp: the first executable regular file. */
  private findOnPath(name: string): string | undefined {
    for (const dir of this.options.searchPath ?? DEFAULT_PATH) {
      const candidate = `${dir}/${name}`;
      const walk = this.fs.resolve(candidate);
      if (walk !== null && walk.stats.isFile() && (walk.stats.mode & 0o111) !== 0) return candidate;
    }
    return undefined;
  }

  private readHead(logical: string): Buffer {
    const fd = openSync(this.fs.hostPath(logical), 'r');
    try {
      const head = Buffer.alloc(SHEBANG_LIMIT);
      const n = readSync(fd, head, 0, SHEBANG_LIMIT, 0);
      return head.subarray(0, n);
    } finally {
      closeSync(fd);
    }
  }

  private addFile(logical: string, kind: ClosureFileDraft['kind'], reason: Reason, elf?: ElfInfo): void {
    const existing = this.files.get(logical);
    if (existing) {
      if (!existing.reasons.some((r) => JSON.stringify(r) === JSON.stringify(reason))) existing.reasons.push(reason);
      return;
    }
    this.files.set(logical, { path: logical, kind, reasons: [reason], ...(elf ? { elf } : {}) });
  }

  private addLinks(links: SymlinkHop[]): void {
    for (const link of links) this.symlinks.set(link.path, link.target);
  }

  private note(level: Diagnostic['level'], code: string, message: string, input?: string, chain?: string[]): void {
    if (this.diagnostics.some((d) => d.code === code && d.message === message)) return;
    this.diagnostics.push({ level, code, message, ...(input ? { input } : {}), ...(chain ? { chain } : {}) });
  }
}

function chainOf(object: LoadedObject): string[] {
  const chain: string[] = [];
  for (let o: LoadedObject | undefined = object; o; o = o.loader) chain.unshift(o.path);
  return chain;
}

/** A jar: a zip archive (local file header first) named *.jar. */
function isJar(head: Buffer, logical: string): boolean {
  return head.length >= 4 && head.readUInt32LE(0) === 0x04034b50 && logical.toLowerCase().endsWith('.jar');
}
