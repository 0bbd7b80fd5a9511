// resolve(): entries → ResolvedClosure, cached on the options and on everything the resolver
// looked at in the root (files by digest, symlinks by target, absent paths as absent).
import * as path from 'node:path';

import type { EntrySpec } from '../entries/spec';
import type { ResolvedClosure } from '../model/closure';
import { PROJECT_MARKERS, projectsOf } from '../resolve/project';
import { relocateClosure } from '../resolve/relocate';
import type { InterpreterOverrides } from '../resolve/closure';
import { resolveClosure } from '../resolve/resolve';
import type { RootFs } from '../resolve/rootfs';
import type { StepCache } from '../cache/step-cache';
import { cachedStep } from './cached';
import { digestsOf, type StepContext } from './context';

export interface ResolveStepOptions {
  /** Directory that is `/` for the entries (default `/`). */
  root?: string;
  entries: EntrySpec[];
  copyDirs?: Array<{ source: string; dest?: string }>;
  allowGpuLibs?: boolean;
  /** Secrets a --copy-dir may ship anyway (--allow-secret), logical paths. */
  allowSecret?: string[];
  /** Base for relative entry paths (default: process.cwd()). */
  cwd?: string;
  /** Interpreters used instead of those the scripts' #! lines find (--node), inside the root. */
  interpreters?: InterpreterOverrides;
  /** Find the entries' projects (lib/resolve/project.ts) and ship them at location-independent
   * paths (default true; bundle() turns it off for images, whose paths are already fixed). */
  projects?: boolean;
}

export async function resolve(options: ResolveStepOptions, context: StepContext = {}): Promise<ResolvedClosure> {
  const root = path.resolve(options.root ?? '/');
  const cwd = path.resolve(options.cwd ?? process.cwd());
  const normalized = {
    root,
    cwd,
    // Trace commands are the trace step's business: changing one must not invalidate resolve.
    entries: options.entries.map((e) => ({ path: e.path, name: e.name })),
    copyDirs: options.copyDirs ?? [],
    allowGpuLibs: options.allowGpuLibs === true,
    allowSecret: (options.allowSecret ?? []).map((p) => path.resolve(cwd, p)),
    projects: options.projects !== false,
    interpreters: options.interpreters ?? {},
  };
  return cachedStep(context, {
    step: 'resolve',
    options: normalized,
    runDetail: `${options.entries.length} entries`,
    run: async () => {
      const { closure: found, fs } = await resolveClosure({
        root,
        cwd,
        entries: options.entries.map((e) => ({ path: e.path, ...(e.name ? { name: e.name } : {}) })),
        ...(options.copyDirs ? { copyDirs: options.copyDirs } : {}),
        allowGpuLibs: normalized.allowGpuLibs,
        allowSecret: normalized.allowSecret,
        ...(options.interpreters ? { interpreters: options.interpreters } : {}),
        digests: digestsOf(context),
      });
      const closure = normalized.projects ? withProjects(found, fs) : found;
      // Everything the resolver probed, every file it took (copied trees too) and the listing of
      // every copied directory.
      const inputs = (cache: StepCache) => {
        const read = [...fs.probes().keys(), ...closure.files.map((f) => f.from ?? f.path)].map((p) => fs.hostPath(p));
        const listed = closure.files.filter((f) => f.reasons.some((r) => r.kind === 'copy-dir')).map((f) => path.dirname(fs.hostPath(f.from ?? f.path)));
        return cache.describe(read, listed);
      };
      return { output: closure, inputs };
    },
  });
}

/** The closure with its entries' projects found and moved to their places in the payload. */
function withProjects(closure: ResolvedClosure, fs: RootFs): ResolvedClosure {
  const hasMarker = (dir: string) => PROJECT_MARKERS.some((marker) => fs.lstat(`${dir}/${marker}`) !== null);
  const projects = projectsOf(closure.entries.filter((e) => e.helperOf === undefined), hasMarker);
  return projects.length === 0 ? closure : { ...relocateClosure(closure, projects), projects };
}
