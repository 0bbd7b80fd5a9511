// The ld.so walk: a program's (or a traced library's) dependencies mapped the way glibc's loader
// maps them, breadth first and reusing what is loaded, inside the root with its loader's system
// directories and ld.so.cache; and what a launcher needs from the result (its library path, the
// glibc level). Libraries found are added to the draft, libraries not found listed as missing.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

import type { ElfInfo } from '../elf';
import { isSidebundleError } from '../errors';
import type { SearchSource } from '../model/closure';
import type { Draft } from './draft';
import { GPU_EXCLUSION_REASON, isGpuLibrary } from './gpu';
import { openLdCache, type LdCache } from './ldcache';
import { loaderConfig, type LoaderConfig } from './loader-config';
import type { Walk } from './rootfs';
import { dirname, searchLibrary, type LoadedObject, type SearchContext } from './search';

export class LoaderWalk {
  private readonly configs = new Map<string, LoaderConfig>();
  private ldCache: LdCache | null | undefined;

  constructor(private readonly draft: Draft) {}

  /**
   * Map the dependencies of `program` (a program, or a library a traced run loaded) the way
   * ld.so does (elf/dl-deps.c): breadth first, the loader pre-loaded under its names.
   */
  loadDependencies(program: LoadedObject, interpreter: string, loaderWalk: Walk, loaderInfo: ElfInfo, openedByRun?: ReadonlySet<string>): LoadedObject[] {
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
          const loops = this.draft.diagnostics.length;
          const found = searchLibrary(needed, object, ctx);
          // A library the same run loaded by path first satisfies the name without a search
          // (the JVM loads lib/server/libjvm.so, then libjava.so, which needs libjvm.so).
          if (found === null && openedByRun?.has(needed)) continue;
          if (found === null) {
            // Say why where a candidate was there but unusable (a symlink loop), not just "not found".
            const loop = this.draft.diagnostics.slice(loops).find((d) => d.code === 'PATH_SYMLINK_LOOP');
            this.draft.missing.push({ name: needed, chain: chainOf(object), ...(loop ? { why: `${loop.input} is a symlink loop` } : {}) });
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

  /** Add a found library (and its variants) to the closure, unless it is a GPU driver. */
  private keepLibrary(dep: LoadedObject, needed: string, by: LoadedObject): boolean {
    if (!this.draft.options.allowGpuLibs && isGpuLibrary(path.posix.basename(dep.path))) {
      this.draft.excluded.set(dep.path, { path: dep.path, reason: GPU_EXCLUSION_REASON, neededBy: by.path, neededName: needed });
      return false;
    }
    this.draft.addLinks(dep.links);
    this.draft.addFile(dep.path, 'elf', { kind: 'needed', name: needed, by: by.path, via: dep.source as SearchSource }, dep.info);
    if (dep.source === 'path') {
      this.draft.note('warning', 'NEEDED_BY_PATH', `${by.path} needs ${needed} by absolute path; on the target the loader opens that path outside the bundle unless it runs with the payload as root (bwrap/chroot/ns run modes)`, by.path, chainOf(by));
    }
    for (const variant of dep.variants) {
      this.draft.addLinks(variant.links);
      this.draft.addFile(variant.path, 'elf', { kind: 'hwcaps-variant', of: dep.path, level: variant.level }, variant.info);
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
  libraryPath(objects: LoadedObject[]): string[] {
    const dirs: string[] = [];
    for (const object of objects) {
      if (object.source === 'program' || object.source === 'interpreter' || this.draft.excluded.has(object.path)) continue;
      if (object.fromOrigin) continue;
      const searched = this.draft.fs.resolve(dirname(object.foundAs));
      const dir = searched?.path ?? dirname(object.path);
      if (searched) this.draft.addLinks(searched.links);
      if (!dirs.includes(dir)) dirs.push(dir);
    }
    return dirs;
  }

  /** The highest GLIBC_x.y the bundled libc defines: the loader's feature level. */
  glibcOf(objects: LoadedObject[]): { glibc?: string } {
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
            this.draft.note('warning', 'DEPENDENCY_CYCLE', `dependency cycle: ${cycle.join(' -> ')} (the loader handles it; it usually means a packaging mistake)`, dep.path, stack.map((o) => o.path));
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

  searchContext(loaderPath: string | undefined): SearchContext {
    return {
      fs: this.draft.fs,
      cache: this.loadLdCache(),
      config: this.loaderConfig(loaderPath),
      libraryPath: this.draft.options.libraryPath ?? [],
      note: (code, message, input) => this.draft.note('info', code, message, input),
      warn: (code, message, input) => this.draft.note('warning', code, message, input),
    };
  }

  private loaderConfig(loaderPath: string | undefined): LoaderConfig {
    const key = loaderPath ?? '';
    let config = this.configs.get(key);
    if (config === undefined) {
      config = this.draft.options.systemDirs !== undefined
        ? { ...loaderConfig(this.draft.fs, undefined), systemDirs: this.draft.options.systemDirs, exact: true }
        : loaderConfig(this.draft.fs, loaderPath);
      if (!config.exact && loaderPath !== undefined) {
        this.draft.note('info', 'LOADER_DIRS_GUESSED', `could not read the system directories of ${loaderPath}; searching the usual glibc directories`, loaderPath);
      }
      this.configs.set(key, config);
    }
    return config;
  }

  private loadLdCache(): LdCache | null {
    if (this.ldCache === undefined) {
      const walk = this.draft.options.useLdCache === false ? null : this.draft.fs.resolve('/etc/ld.so.cache');
      if (walk === null || !walk.stats.isFile()) {
        this.ldCache = null;
      } else {
        this.draft.addLinks(walk.links);
        try {
          this.ldCache = openLdCache(readFileSync(this.draft.fs.hostPath(walk.path)), path.join(this.draft.fs.root, 'etc/ld.so.cache'));
          this.draft.addFile(walk.path, 'data', { kind: 'loader-cache' });
        } catch (error) {
          if (!isSidebundleError(error)) throw error;
          this.draft.note('warning', error.code, `${error.message}; searching the system directories only`, '/etc/ld.so.cache');
          this.ldCache = null;
        }
      }
    }
    return this.ldCache;
  }
}

function chainOf(object: LoadedObject): string[] {
  const chain: string[] = [];
  for (let o: LoadedObject | undefined = object; o; o = o.loader) chain.unshift(o.path);
  return chain;
}
