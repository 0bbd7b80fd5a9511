// A program file and what it needs to run: an ELF program with its loader and libraries (through
// the ld.so walk), a script with its interpreter (the #! line, through env and PATH, nested as
// the kernel nests them, or --node's replacement), a jar with the java on PATH.
import * as path from 'node:path';

import { hasElfMagic } from '../elf';
import { SidebundleError } from '../errors';
import type { EntryKind, Reason, ResolvedEntry } from '../model/closure';
import type { Draft } from './draft';
import type { LoaderWalk } from './ld-walk';
import { joinLogical, type Walk } from './rootfs';
import { dirname, type LoadedObject } from './search';
import { entryShebang, envCommand, parseShebang } from './shebang';

/** The kernel follows at most this many nested script interpreters (BINPRM recursion). */
const MAX_INTERPRETER_DEPTH = 4;
/** Interpreter names --node replaces (Debian once shipped node as nodejs). */
const NODE_NAMES = new Set(['node', 'nodejs']);

export class Programs {
  constructor(private readonly draft: Draft, private readonly walk: LoaderWalk) {}

  /** Analyse a program file (ELF or script) reached by `walk`. */
  program(walk: Walk, reason: Reason, name: string, spec: string, depth: number): ResolvedEntry {
    this.draft.addLinks(walk.links);
    const head = this.draft.readHead(walk.path);
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
    this.draft.addFile(walk.path, 'script', reason);

    let interpreterPath = shebang.interpreter;
    let args: string[] = shebang.arg === undefined ? [] : [shebang.arg];
    if (path.posix.basename(interpreterPath) === 'env') {
      const command = envCommand(shebang.arg);
      if (command) {
        // --node names the node for `env node` too: none need be on PATH then.
        const found = command.name.includes('/') ? command.name : this.interpreterOverride(command.name) ?? this.draft.findOnPath(command.name);
        if (found === undefined) {
          throw new SidebundleError('SCRIPT_INTERPRETER_NOT_FOUND', `${spec} runs "${command.name}" through env, and no ${command.name} is on PATH${this.draft.inside}`, {
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
    const interpreterWalk = this.draft.fs.resolve(interpreterPath.startsWith('/') ? interpreterPath : joinLogical(dirname(walk.path), interpreterPath));
    if (interpreterWalk === null || !interpreterWalk.stats.isFile()) {
      throw new SidebundleError('SCRIPT_INTERPRETER_NOT_FOUND', `${spec} names the interpreter ${interpreterPath}, which does not exist${this.draft.inside}`, {
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
  jarProgram(walk: Walk, reason: Reason, name: string, spec: string): ResolvedEntry {
    this.draft.addLinks(walk.links);
    const java = this.draft.findOnPath('java');
    const javaWalk = java === undefined ? null : this.draft.fs.resolve(java);
    if (java === undefined || javaWalk === null) {
      throw new SidebundleError('JAVA_NOT_FOUND', `${spec} is a jar, and no java is on PATH${this.draft.inside} to run it`, {
        input: spec,
        kind: 'input',
        hint: 'install a Java runtime (Debian: default-jre-headless), or bundle a script that runs the java you want',
      });
    }
    this.draft.addFile(walk.path, 'data', reason);
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
    const info = this.draft.fs.elf(walk.path);
    this.draft.addFile(walk.path, 'elf', reason, info);
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
    const loaderWalk = this.draft.fs.resolve(info.interpreter);
    if (loaderWalk === null || !loaderWalk.stats.isFile()) {
      const inside = this.draft.inside;
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
    this.draft.addLinks(loaderWalk.links);
    const loaderInfo = this.draft.fs.elf(loaderWalk.path);
    this.draft.addFile(loaderWalk.path, 'elf', { kind: 'interpreter', of: walk.path }, loaderInfo);
    const program: LoadedObject = { path: walk.path, foundAs: walk.path, info, source: 'program', links: [], variants: [] };
    const objects = this.walk.loadDependencies(program, info.interpreter, loaderWalk, loaderInfo);
    return {
      name,
      path: spec,
      target: walk.path,
      kind: 'elf-dynamic',
      loader: loaderWalk.path,
      libraryPath: this.walk.libraryPath(objects),
      ...this.walk.glibcOf(objects),
    };
  }

  /** An override of the interpreter a #! line resolved to: --node for node and nodejs (the
   * name env looks up, or the named program's basename, which also catches /usr/bin/nodejs). */
  private interpreterOverride(interpreterPath: string): string | undefined {
    const node = this.draft.options.interpreters?.node;
    return node !== undefined && NODE_NAMES.has(path.posix.basename(interpreterPath)) ? node : undefined;
  }

  /** Fail before anything is resolved when an override is not a program in the root: a bad
   * --node must not wait for the first Node entry (or pass silently without one). */
  checkInterpreters(): void {
    const node = this.draft.options.interpreters?.node;
    if (node === undefined) return;
    const inside = this.draft.inside;
    const walk = this.draft.fs.resolve(node);
    if (walk === null || !walk.stats.isFile()) {
      throw new SidebundleError('NODE_NOT_FOUND', `--node ${node} ${walk === null ? 'does not exist' : 'is not a regular file'}${inside}`, {
        input: node,
        kind: 'input',
        hint: 'give the path of a node program (e.g. ~/.nvm/versions/node/v20.11.1/bin/node), or leave --node out to use the node on PATH',
      });
    }
    if (!hasElfMagic(this.draft.readHead(walk.path))) {
      throw new SidebundleError('NODE_NOT_A_PROGRAM', `--node ${node} is not an ELF program${inside}`, {
        input: node,
        kind: 'input',
        hint: 'name the node binary itself, not a wrapper script or a version manager\'s shim (e.g. `nvm which 20`, or readlink -f "$(command -v node)")',
      });
    }
  }
}

/** A jar: a zip archive (local file header first) named *.jar. */
export function isJar(head: Buffer, logical: string): boolean {
  return head.length >= 4 && head.readUInt32LE(0) === 0x04034b50 && logical.toLowerCase().endsWith('.jar');
}
