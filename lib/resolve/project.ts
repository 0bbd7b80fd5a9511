// The user's own projects: the directory an entry script (or a program kept in a user's
// directory) belongs to, found by its markers. A project's files are never dropped by the trace
// policy's home and temporary rules, and they are shipped at PROJECTS_AT/<name>: a path that does
// not depend on where the project is checked out (two clones give the same bundle) and that the
// payload-as-root run modes show (they take /home, /root, /tmp and /srv from the host).
import * as path from 'node:path';

import type { Project, ResolvedEntry } from '../model/closure';

/** Where projects go in the payload: /opt is neither a system directory nor one of the host's. */
export const PROJECTS_AT = '/opt/sidebundle';

/** What marks a project's top directory (the nearest one above the entry wins). */
export const PROJECT_MARKERS = ['.git', 'package.json', 'pyproject.toml', 'setup.py', 'sidebundle.json'];

/** Where the system keeps its own programs and files: an entry there is not a user's project. */
const SYSTEM_DIRS = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32', '/etc', '/var/lib', '/nix', '/gnu', '/snap'];
/** Where users keep their own files: programs there belong to a project too, not only scripts. */
const USER_DIRS = ['/home', '/root', '/tmp', '/var/tmp'];

/** Whether the logical path `logical` is `dir` or inside it. */
export function isUnder(logical: string, dir: string): boolean {
  return logical === dir || logical.startsWith(dir === '/' ? '/' : `${dir}/`);
}

/**
 * The project directory of an entry: the nearest directory above its program holding a marker,
 * else the program's own directory. Undefined for the system's own programs, and for programs
 * (not scripts) outside the users' directories.
 */
export function projectDirOf(entry: Pick<ResolvedEntry, 'kind' | 'target'>, hasMarker: (dir: string) => boolean): string | undefined {
  const own = path.posix.dirname(entry.target);
  if (SYSTEM_DIRS.some((d) => isUnder(entry.target, d))) return undefined;
  if (entry.kind !== 'script' && !USER_DIRS.some((d) => isUnder(entry.target, d))) return undefined;
  for (let dir = own; dir !== '/'; dir = path.posix.dirname(dir)) {
    if (isHomeOrShared(dir)) break; // a marker in /root or /home/u is a home, not a project
    if (hasMarker(dir)) return dir;
  }
  // A script kept directly in /tmp, /root or a home directory has no project: that directory is
  // everyone's scratch space or the user's whole home, and must not lose the policy's rules.
  return own === '/' || isHomeOrShared(own) ? undefined : own;
}

/** /home, /root, /tmp, /var/tmp, and each user's home (/home/NAME). */
function isHomeOrShared(dir: string): boolean {
  return USER_DIRS.includes(dir) || path.posix.dirname(dir) === '/home';
}

/**
 * The projects of a set of entries, each at PROJECTS_AT/<its directory's name>. A project inside
 * another is part of it (relative paths between them keep working); two projects with the same
 * name are told apart by a suffix, in entry order. A project with a program (ELF) entry stays in
 * place (`at` is `dir`): a program finds its libraries by paths relative to itself
 * ($ORIGIN/../lib) or absolute ones, which may lead outside the project.
 */
export function projectsOf(entries: Array<Pick<ResolvedEntry, 'kind' | 'target'>>, hasMarker: (dir: string) => boolean): Project[] {
  const found: Array<{ dir: string; pinned: boolean }> = [];
  for (const entry of entries) {
    const dir = projectDirOf(entry, hasMarker);
    if (dir === undefined) continue;
    const pinned = entry.kind !== 'script';
    const outer = found.find((p) => isUnder(dir, p.dir));
    if (outer) {
      outer.pinned ||= pinned;
      continue;
    }
    const inner = found.filter((p) => isUnder(p.dir, dir));
    for (const p of inner) found.splice(found.indexOf(p), 1);
    found.push({ dir, pinned: pinned || inner.some((p) => p.pinned) });
  }
  const taken = new Set<string>();
  return found.map(({ dir, pinned }) => {
    if (pinned) return { dir, at: dir };
    const name = path.posix.basename(dir);
    let at = `${PROJECTS_AT}/${name}`;
    for (let n = 2; taken.has(at); n++) at = `${PROJECTS_AT}/${name}-${n}`;
    taken.add(at);
    return { dir, at };
  });
}

/** Where a logical path goes in the payload: moved into its project's place, else unchanged. */
export function relocated(logical: string, projects: readonly Project[]): string {
  const project = projects.find((p) => isUnder(logical, p.dir));
  return project ? `${project.at}${logical.slice(project.dir.length)}` : logical;
}

/** A command line with the project directories written as their places in the bundle. */
export function relocatedCommand(command: string, projects: readonly Project[]): string {
  if (projects.length === 0) return command;
  return command.split(' ').map((word) => (word.startsWith('/') ? relocated(word, projects) : word)).join(' ');
}
