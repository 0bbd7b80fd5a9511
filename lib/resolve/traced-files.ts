// The files a traced run touched, added to the closure: programs it executed with what they need,
// libraries it loaded with theirs (as the entry's loader resolves them), directories it listed,
// everything else as data, with the symlinks on the way.
import * as path from 'node:path';

import { hasElfMagic, type ElfInfo } from '../elf';
import { isSidebundleError } from '../errors';
import type { Reason } from '../model/closure';
import type { TracedFile } from '../model/trace';
import { redactedCommand } from '../util/redact';
import type { TracedRun } from './closure';
import type { Draft } from './draft';
import { GPU_EXCLUSION_REASON, isGpuLibrary } from './gpu';
import type { LoaderWalk } from './ld-walk';
import type { Programs } from './programs';
import type { Walk } from './rootfs';
import { dirname, type LoadedObject } from './search';
import { parseShebang } from './shebang';

export class TracedFiles {
  private readonly openedNames = new WeakMap<TracedRun, ReadonlySet<string>>();

  constructor(private readonly draft: Draft, private readonly walk: LoaderWalk, private readonly programs: Programs) {}

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
      walk = this.draft.fs.resolve(file.path);
    } catch (error) {
      if (!isSidebundleError(error)) throw error;
      this.draft.note('info', error.code, `traced ${file.path}: ${error.message}`, file.path);
      return;
    }
    if (walk === null) {
      this.draft.note('info', 'TRACED_VANISHED', `traced ${file.path} no longer exists (a temporary file?)`, file.path);
      return;
    }
    this.draft.addLinks(walk.links);
    if (walk.stats.isDirectory()) {
      this.draft.dirs.add(walk.path);
      return;
    }
    if (!walk.stats.isFile()) return;
    const head = this.draft.readHead(walk.path);
    if (file.ops.includes('exec') && (hasElfMagic(head) || parseShebang(head))) {
      try {
        this.programs.program(walk, reason, path.posix.basename(walk.path), file.path, 0);
      } catch (error) {
        if (!isSidebundleError(error)) throw error;
        this.draft.note('warning', 'TRACED_PROGRAM_SKIPPED', `${file.path} ran during the trace but cannot be bundled: ${error.message}`, file.path);
      }
      return;
    }
    if (hasElfMagic(head)) {
      let info: ElfInfo;
      try {
        info = this.draft.fs.elf(walk.path);
      } catch {
        this.draft.addFile(walk.path, 'data', reason); // an ELF of another machine, read as data
        return;
      }
      this.addTracedLibrary(walk, file.path, info, reason, trace);
      return;
    }
    this.draft.addFile(walk.path, 'data', reason);
  }

  private addTracedLibrary(walk: Walk, openedAs: string, info: ElfInfo, reason: Reason, trace: TracedRun): void {
    if (!this.draft.options.allowGpuLibs && isGpuLibrary(path.posix.basename(walk.path))) {
      this.draft.excluded.set(walk.path, { path: walk.path, reason: GPU_EXCLUSION_REASON });
      return;
    }
    this.draft.addFile(walk.path, 'elf', reason, info);
    const loaderWalk = trace.loader === undefined ? null : this.draft.fs.resolve(trace.loader);
    if (loaderWalk === null || !loaderWalk.stats.isFile()) return;
    const library: LoadedObject = { path: walk.path, foundAs: openedAs, info, source: 'program', links: walk.links, variants: [] };
    this.walk.loadDependencies(library, info.interpreter ?? trace.loader!, loaderWalk, this.draft.fs.elf(loaderWalk.path), this.namesOpenedBy(trace));
    // A library found where the loader looks by default (the cache, the system directories) may
    // have been loaded by name (dlopen("libfoo.so.3")): the bundled loader must search there.
    const dir = dirname(openedAs);
    const ctx = this.walk.searchContext(loaderWalk.path);
    const standard = ctx.config.systemDirs.includes(dir) || (ctx.cache?.entries.some((e) => dirname(e.path) === dir) ?? false);
    const searched = this.draft.fs.resolve(dir);
    if (standard && searched) {
      const dirs = this.draft.libraryPathExtras.get(trace.entry) ?? [];
      if (!dirs.includes(searched.path)) dirs.push(searched.path);
      this.draft.libraryPathExtras.set(trace.entry, dirs);
    }
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
}
