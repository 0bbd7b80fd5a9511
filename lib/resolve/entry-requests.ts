// The entries asked for: found (an absolute path, a path relative to the working directory on
// the host, or a bare name on PATH), named (one launcher per name), resolved as programs, and
// for shell scripts the helper commands they call, bundled as entries of their own.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

import { SidebundleError, isSidebundleError } from '../errors';
import type { Reason, ResolvedEntry } from '../model/closure';
import { entryNameProblem, validateEntryName } from '../model/names';
import type { EntryRequest } from './closure';
import type { Draft } from './draft';
import { isJar, type Programs } from './programs';
import type { Walk } from './rootfs';
import { isShellInterpreter } from './shebang';

const MAX_SCRIPT_SCAN = 1024 * 1024;

export class EntryRequests {
  constructor(private readonly draft: Draft, private readonly programs: Programs) {}

  addEntry(request: EntryRequest, helperOf?: string): ResolvedEntry | undefined {
    const logical = this.entryPath(request.path);
    const walk = this.walkEntry(logical, request.path);
    const name = request.name ?? path.posix.basename(request.path);
    if (helperOf !== undefined && entryNameProblem(name) !== undefined) {
      this.draft.note('info', 'HELPER_UNNAMEABLE', `helper ${JSON.stringify(name)} of ${helperOf} is not bundled: ${entryNameProblem(name)}`, request.path);
      return undefined;
    }
    validateEntryName(name, request.path);
    const existing = this.draft.entries.find((e) => e.name === name);
    if (existing) {
      if (existing.target === walk.path) return existing;
      if (helperOf !== undefined) {
        this.draft.note('info', 'HELPER_SHADOWED', `helper ${name} of ${helperOf} is not bundled: an entry named ${name} already exists`, request.path);
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
    const entry = helperOf === undefined && isJar(this.draft.readHead(walk.path), walk.path) ? this.programs.jarProgram(walk, reason, name, request.path) : this.programs.program(walk, reason, name, request.path, 0);
    if (helperOf !== undefined) entry.helperOf = helperOf;
    this.draft.entries.push(entry);
    if (entry.kind === 'script' && entry.script && isShellInterpreter(entry.script.interpreterPath) && this.draft.options.scanScripts !== false) {
      this.addHelpers(entry);
    }
    return entry;
  }

  /** The logical path of an entry: absolute, cwd-relative on the host, or found on PATH. */
  private entryPath(spec: string): string {
    if (spec.startsWith('/')) return spec;
    if (!spec.includes('/')) {
      const found = this.draft.findOnPath(spec);
      if (found) return found;
    }
    if (this.draft.fs.root !== '/') {
      throw new SidebundleError('ENTRY_NOT_ABSOLUTE', `entry ${spec} must be an absolute path inside the root ${this.draft.fs.root}`, {
        input: spec,
        kind: 'input',
        hint: 'with --trace-root or an image, name programs by their absolute path inside that root',
      });
    }
    return path.resolve(this.draft.options.cwd ?? process.cwd(), spec);
  }

  private walkEntry(logical: string, spec: string): Walk {
    const walk = this.draft.fs.resolve(logical);
    const where = this.draft.inside;
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
    if ((walk.stats.mode & 0o6000) !== 0) {
      const bits = walk.stats.mode & 0o4000 ? 'setuid' : 'setgid';
      this.draft.note('warning', 'ENTRY_PRIVILEGE_DROPPED', `entry ${spec} is ${bits} here; a bundle carries no privileges, so it runs with the rights of whoever starts it (what needs them, such as changing a password, fails)`, spec);
    }
    return walk;
  }

  private addHelpers(entry: ResolvedEntry): void {
    let text: string;
    try {
      text = readFileSync(this.draft.fs.hostPath(entry.target)).subarray(0, MAX_SCRIPT_SCAN).toString('utf8');
    } catch {
      return;
    }
    // Required here: only shell-script entries need the scanner.
    const { scanShellCommands } = require('./script-scan') as typeof import('./script-scan');
    for (const command of scanShellCommands(text)) {
      const found = this.draft.findOnPath(command);
      if (found === undefined) continue;
      try {
        const helper = this.addEntry({ path: found, name: command }, entry.name);
        if (helper) entry.usesHelpers = true;
      } catch (error) {
        if (!isSidebundleError(error)) throw error;
        this.draft.note('warning', 'HELPER_SKIPPED', `helper ${command} of ${entry.name} is not bundled: ${error.message}`, found);
      }
    }
  }
}
