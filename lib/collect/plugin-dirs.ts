// Plugin directories: when a file of the closure lies in a directory of modules a program
// dlopens by name at run time (a charset converter, an NSS module, an image coder), the whole
// directory goes in, with its index files and each module's closure, so another charset or
// coder works too. In `smart` a directory larger than the budget is cut back to what the trace
// touched, and a warning says how to raise it. Python's lib-dynload is the python family's.
import * as path from 'node:path';

import type { Diagnostic } from '../model/closure';
import { collected, type Addition, type CollectFamily, type CollectInput, type FamilyResult } from './family';
import { isFile, listTree, type TreeEntry } from './tree';

const FAMILY = 'plugin-dirs';

export interface PluginDirKind {
  name: string;
  /** The plugin directory `file` belongs to, or undefined. */
  dirOf(file: string): string | undefined;
  /** Which entries of the directory are its plugins (default: every file below it). */
  member?: (relative: string) => boolean;
  /** Index files outside the directory (gdk-pixbuf's loaders.cache sits beside loaders/). */
  indexes?: (dir: string) => string[];
  /** In `full`: the wider tree to ship instead (every Qt plugin category). */
  fullDir?: (dir: string) => string;
}

const parentIf = (pattern: RegExp) => (file: string) => {
  const dir = path.posix.dirname(file);
  return pattern.test(dir) ? dir : undefined;
};

/** The plugin directories we know, by the shape of their path. */
export const PLUGIN_DIRS: PluginDirKind[] = [
  // gconv-modules, gconv-modules.d/ and gconv-modules.cache are its index.
  { name: 'gconv', dirOf: parentIf(/\/gconv$/) },
  {
    name: 'nss',
    dirOf: (file) => (/^libnss_[A-Za-z0-9_]+\.so\.\d+$/.test(path.posix.basename(file)) ? path.posix.dirname(file) : undefined),
    member: (rel) => /^libnss_[A-Za-z0-9_]+\.so\.\d+$/.test(rel),
  },
  { name: 'imagemagick', dirOf: parentIf(/\/ImageMagick-[^/]+\/modules-[^/]+\/(coders|filters)$/), fullDir: (dir) => path.posix.dirname(dir) },
  { name: 'gdk-pixbuf', dirOf: parentIf(/\/gdk-pixbuf-2\.0\/[^/]+\/loaders$/), indexes: (dir) => [`${path.posix.dirname(dir)}/loaders.cache`] },
  { name: 'gio', dirOf: parentIf(/\/gio\/modules$/) },
  { name: 'gstreamer', dirOf: parentIf(/\/gstreamer-1\.0$/) },
  { name: 'qt', dirOf: parentIf(/\/(qt[56]?|Qt[56]?)\/plugins\/[^/]+$/), fullDir: (dir) => path.posix.dirname(dir) },
  { name: 'sasl', dirOf: parentIf(/\/sasl2$/) },
  { name: 'krb5', dirOf: parentIf(/\/krb5\/plugins\/[^/]+$/), fullDir: (dir) => path.posix.dirname(dir) },
];

export const pluginDirsFamily: CollectFamily = { name: FAMILY, detect };

function detect(input: CollectInput): FamilyResult {
  const found = new Map<string, { kind: PluginDirKind; dir: string; by: string }>();
  const note = (kind: PluginDirKind, dir: string, by: string) => {
    const wide = input.policy === 'full' && kind.fullDir ? kind.fullDir(dir) : dir;
    if (!found.has(wide)) found.set(wide, { kind, dir: wide, by });
  };
  for (const file of [...input.files].sort((a, b) => (a.path < b.path ? -1 : 1))) {
    for (const kind of PLUGIN_DIRS) {
      const dir = kind.dirOf(file.path);
      if (dir !== undefined) note(kind, dir, file.path);
    }
  }
  // glibc's own NSS modules (files, dns) are built into libc since 2.34: a run that read
  // nsswitch.conf may have loaded none, and the target's nsswitch.conf may name others.
  const nss = PLUGIN_DIRS.find((k) => k.name === 'nss')!;
  if (input.excluded.some((e) => e.path === '/etc/nsswitch.conf')) {
    const libc = input.files.find((f) => f.kind === 'elf' && path.posix.basename(f.path) === 'libc.so.6');
    if (libc) note(nss, path.posix.dirname(libc.path), libc.path);
  }
  const additions: Addition[] = [];
  const diagnostics: Diagnostic[] = [];
  for (const { kind, dir, by } of [...found.values()].sort((a, b) => (a.dir < b.dir ? -1 : 1))) {
    const entries = listTree(input.fs, dir).filter((e) => !kind.member || kind.member(e.relative));
    const indexes = (kind.indexes?.(dir) ?? []).filter((f) => isFile(input.fs, f));
    const bytes = entries.reduce((n, e) => n + e.size, 0);
    if (input.policy === 'smart' && bytes > input.budgetBytes) {
      diagnostics.push(overBudget(kind.name, dir, bytes, input.budgetBytes));
      continue;
    }
    const reason = collected(FAMILY, `plugin dir of ${by}`);
    for (const e of [...entries, ...indexes.map((f): TreeEntry => ({ path: f, relative: path.posix.basename(f), size: 0, link: false }))]) {
      additions.push({ path: e.path, reason, ...(/\.so(\.[\d.]+)?$/.test(e.relative) ? { droppable: `${kind.name} module ${e.path}` } : {}) });
    }
  }
  return { additions, diagnostics };
}

function overBudget(kind: string, dir: string, bytes: number, budget: number): Diagnostic {
  const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;
  return {
    level: 'warning',
    code: 'COLLECT_BUDGET',
    message: `${kind} plugin directory ${dir} holds ${mib(bytes)}, over the ${mib(budget)} budget per directory: only the modules the trace loaded are shipped (raise it with --collect-budget MIB, or --collect full)`,
    input: dir,
  };
}
