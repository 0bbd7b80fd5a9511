// A closure with its projects moved to their places in the payload (lib/resolve/project.ts):
// every path under a project directory, wherever the closure names one (files, links and their
// targets, entries, reasons, what was left out), so that nothing in the bundle or its manifest
// says where the project was checked out. Files keep being read from where they are (`from`).
import * as path from 'node:path';

import type { ClosureSymlink, ExcludedFile, Project, Reason, ResolvedClosure, ResolvedEntry, ScriptArg } from '../model/closure';
import { isUnder, relocated, relocatedCommand } from './project';

export function relocateClosure(closure: ResolvedClosure, projects: readonly Project[]): ResolvedClosure {
  if (projects.length === 0) return closure;
  const at = (logical: string) => relocated(logical, projects);
  const byPath = <T extends { path: string }>(a: T, b: T) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
  return {
    ...closure,
    entries: closure.entries.map((e) => relocateEntry(e, at)),
    files: closure.files
      .map((f) => {
        const moved = at(f.path);
        const from = f.from ?? (moved === f.path ? undefined : f.path);
        return { ...f, path: moved, ...(from === undefined ? {} : { from }), reasons: f.reasons.map((r) => relocateReason(r, projects)) };
      })
      .sort(byPath),
    symlinks: closure.symlinks.map((l) => relocateLink(l, projects)).sort(byPath),
    missing: closure.missing.map((m) => ({ ...m, chain: m.chain.map(at) })),
    excluded: closure.excluded.map((e): ExcludedFile => ({ ...e, path: at(e.path), ...(e.neededBy ? { neededBy: at(e.neededBy) } : {}) })).sort(byPath),
    ...(closure.dirs ? { dirs: closure.dirs.map(at).sort() } : {}),
    ...(closure.libraryPathExtras ? { libraryPathExtras: closure.libraryPathExtras.map((x) => ({ ...x, dirs: x.dirs.map(at) })) } : {}),
  };
}

function relocateEntry(entry: ResolvedEntry, at: (logical: string) => string): ResolvedEntry {
  const arg = (a: ScriptArg): ScriptArg => ('path' in a ? { path: at(a.path) } : a);
  return {
    ...entry,
    target: at(entry.target),
    ...(entry.loader ? { loader: at(entry.loader) } : {}),
    ...(entry.libraryPath ? { libraryPath: entry.libraryPath.map(at) } : {}),
    ...(entry.script ? { script: { ...entry.script, interpreter: at(entry.script.interpreter), args: entry.script.args.map(arg) } } : {}),
  };
}

function relocateReason(reason: Reason, projects: readonly Project[]): Reason {
  const at = (logical: string) => relocated(logical, projects);
  switch (reason.kind) {
    case 'traced': return { ...reason, command: relocatedCommand(reason.command, projects) };
    case 'copy-dir': return { ...reason, source: at(reason.source) };
    case 'needed': return { ...reason, by: at(reason.by) };
    case 'interpreter': case 'script-interpreter': case 'hwcaps-variant': return { ...reason, of: at(reason.of) };
    default: return reason;
  }
}

/** A link moved with its project; a target that leaves the project is made absolute. */
function relocateLink(link: ClosureSymlink, projects: readonly Project[]): ClosureSymlink {
  const moved = relocated(link.path, projects);
  const target = path.posix.resolve(path.posix.dirname(link.path), link.target);
  const inProject = projects.some((p) => isUnder(target, p.dir));
  if (moved === link.path && !inProject) return link;
  if (!link.target.startsWith('/') && projects.some((p) => isUnder(link.path, p.dir) && isUnder(target, p.dir))) return { path: moved, target: link.target };
  const movedTarget = relocated(target, projects);
  return { path: moved, target: inProject ? path.posix.relative(path.posix.dirname(moved), movedTarget) || '.' : target };
}
