// Python: a bundled interpreter (python3.X, or a program linking libpython3.X) gets its whole
// standard library, pure modules and lib-dynload extension modules (each with its library
// closure; one whose library is absent is left out and named), without test suites, build
// files and pip's bundled wheels; and every installed distribution that a traced import touched
// comes whole (its RECORD, installed-files.txt, or the Debian package that installed it).
//
// Byte code is not collected from here: the machine's __pycache__ holds timestamp-checked .pyc
// that no longer match once packaging sets one mtime; the package step compiles hash-based ones
// with the bundled interpreter (lib/package/bytecode.ts).
import * as path from 'node:path';

import type { Diagnostic } from '../model/closure';
import { collected, type Addition, type CollectFamily, type CollectInput, type FamilyResult } from './family';
import { isDir, isFile, listTree, readText, type Skip } from './tree';

const FAMILY = 'python';
const SITE_DIRS = ['site-packages', 'dist-packages'];

/** Directories of the standard library that are not part of what programs import. */
const STDLIB_SKIPPED = 'test suites (test/, */tests/), build files (config-*), bytecode caches, pip\'s bundled wheels (ensurepip/_bundled)';
/** Extension modules that exist only for CPython's own tests. */
const TEST_MODULE = /^(_test|_xxtest|_ctypes_test|xxlimited|xxsubtype)/;

export const pythonFamily: CollectFamily = { name: FAMILY, detect };

/** The pythonX.Y versions a closure runs, with their standard library directories. */
export function pythonsOf(input: Pick<CollectInput, 'fs' | 'files'>): Array<{ version: string; stdlib: string[] }> {
  const found = new Map<string, Set<string>>();
  for (const file of input.files) {
    if (file.kind !== 'elf') continue;
    const base = path.posix.basename(file.path);
    const m = /^python(3\.\d+)$/.exec(base) ?? /^libpython(3\.\d+)\.so/.exec(base);
    if (!m) continue;
    const prefixes = new Set([path.posix.dirname(path.posix.dirname(file.path)), '/usr', '/usr/local']);
    const dirs = found.get(m[1]!) ?? new Set<string>();
    for (const prefix of prefixes) {
      for (const lib of ['lib', 'lib64']) {
        const dir = `${prefix === '/' ? '' : prefix}/${lib}/python${m[1]}`;
        if (isFile(input.fs, `${dir}/os.py`) || isDir(input.fs, `${dir}/lib-dynload`)) dirs.add(dir);
      }
      if (dirs.size > 0) break;
    }
    found.set(m[1]!, dirs);
  }
  return [...found].filter(([, dirs]) => dirs.size > 0).map(([version, dirs]) => ({ version, stdlib: [...dirs].sort() }));
}

function detect(input: CollectInput): FamilyResult {
  const additions: Addition[] = [];
  const diagnostics: Diagnostic[] = [];
  for (const { version, stdlib } of pythonsOf(input)) {
    for (const dir of stdlib) additions.push(...stdlibOf(input, dir, version));
    diagnostics.push({ level: 'info', code: 'COLLECT_PYTHON_SKIPPED', message: `python ${version}: the standard library is shipped without ${STDLIB_SKIPPED}; tkinter, idlelib and turtledemo only where _tkinter is installed` });
  }
  additions.push(...distributionsOf(input));
  return { additions, diagnostics };
}

function stdlibOf(input: CollectInput, dir: string, version: string): Addition[] {
  const reason = collected(FAMILY, 'python stdlib');
  const hasTk = listTree(input.fs, `${dir}/lib-dynload`).some((e) => e.relative.startsWith('_tkinter'));
  const skip: Skip = (rel, isDirectory) => {
    const parts = rel.split('/');
    const name = parts[parts.length - 1]!;
    if (isDirectory) {
      if (name === '__pycache__' || name === 'tests' || SITE_DIRS.includes(name)) return true;
      if (parts.length === 1 && (name === 'test' || name.startsWith('config-') || (!hasTk && ['tkinter', 'idlelib', 'turtledemo'].includes(name)))) return true;
      return rel === 'ensurepip/_bundled' || rel === 'lib2to3/tests';
    }
    return parts[0] === 'lib-dynload' && TEST_MODULE.test(name);
  };
  return listTree(input.fs, dir, skip).map((entry) => ({
    path: entry.path,
    reason,
    ...(entry.relative.startsWith('lib-dynload/') && entry.relative.endsWith('.so') ? { droppable: `python ${version} extension module ${entry.relative}` } : {}),
  }));
}

/** Every distribution a closure file lies in, whole. */
function distributionsOf(input: CollectInput): Addition[] {
  const touched = new Map<string, Set<string>>(); // site dir -> top-level names touched
  for (const file of input.files) {
    const parts = file.path.split('/');
    const at = parts.findIndex((p, i) => SITE_DIRS.includes(p) && i < parts.length - 1);
    if (at < 0) continue;
    const site = parts.slice(0, at + 1).join('/');
    const tops = touched.get(site) ?? new Set<string>();
    tops.add(parts[at + 1]!);
    touched.set(site, tops);
  }
  const out: Addition[] = [];
  for (const [site, tops] of [...touched].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const dists = distributionsIn(input, site);
    for (const top of [...tops].sort()) {
      if (top === '__pycache__' || top.endsWith('.pth')) continue;
      const dist = dists.find((d) => d.tops.has(top) || d.meta === top);
      if (dist) {
        if (dist.shipped) continue;
        dist.shipped = true;
        const reason = collected(FAMILY, `python distribution ${dist.name}`);
        for (const file of dist.files()) out.push({ path: file, reason, ...(file.endsWith('.so') ? { droppable: `python distribution ${dist.name}: ${path.posix.basename(file)}` } : {}) });
      } else if (isDir(input.fs, `${site}/${top}`)) {
        // A package no metadata claims: the directory is the best guess at its extent.
        const reason = collected(FAMILY, `python package ${top}`);
        for (const e of listTree(input.fs, `${site}/${top}`, (rel, d) => d && rel.endsWith('__pycache__'))) out.push({ path: e.path, reason });
      }
    }
  }
  return out;
}

interface Distribution {
  name: string;
  /** Its metadata directory's name (PyYAML-6.0.dist-info). */
  meta: string;
  /** Top-level names in the site directory it owns. */
  tops: Set<string>;
  files: () => string[];
  shipped?: boolean;
}

function distributionsIn(input: CollectInput, site: string): Distribution[] {
  const metas = listTree(input.fs, site, (rel, d) => d && rel.includes('/') === false && !/\.(dist|egg)-info$/.test(rel))
    .filter((e) => /^[^/]+\.(dist|egg)-info\//.test(e.relative));
  const byMeta = new Map<string, string[]>();
  for (const e of metas) {
    const meta = e.relative.slice(0, e.relative.indexOf('/'));
    byMeta.set(meta, [...(byMeta.get(meta) ?? []), e.relative]);
  }
  const siteNames = listTree(input.fs, site, (_rel, d) => d).map((e) => e.relative);
  const out: Distribution[] = [];
  for (const [meta, metaFiles] of [...byMeta].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const name = meta.replace(/-[^-]*\.(dist|egg)-info$/, '').replace(/\.(dist|egg)-info$/, '');
    const listed = recordOf(input, site, meta);
    const tops = new Set<string>();
    if (listed) {
      for (const file of listed) {
        const rel = path.posix.relative(site, file);
        if (!rel.startsWith('..')) tops.add(rel.split('/')[0]!);
      }
    } else {
      for (const top of (readText(input.fs, `${site}/${meta}/top_level.txt`) ?? '').split('\n').map((l) => l.trim()).filter(Boolean)) {
        tops.add(top);
        for (const n of siteNames) if (n.startsWith(`${top}.`)) tops.add(n);
      }
    }
    tops.delete(meta);
    const files = () => {
      const own = metaFiles.map((rel) => `${site}/${rel}`);
      if (listed) return [...new Set([...listed.filter((f) => isFile(input.fs, f) || input.fs.lstat(f)?.isSymbolicLink()), ...own])].sort();
      const pkg = input.packages.ownerOf(`${site}/${meta}/${path.posix.basename(metaFiles[0] ?? '')}`);
      const fromPkg = pkg ? input.packages.filesOf(pkg).filter((f) => f.startsWith(`${site}/`) && isFile(input.fs, f)) : [];
      const fromTops = [...tops].flatMap((top) => listTree(input.fs, `${site}/${top}`).map((e) => e.path).concat(isFile(input.fs, `${site}/${top}`) ? [`${site}/${top}`] : []));
      return [...new Set([...own, ...fromPkg, ...fromTops])].filter((f) => !f.includes('/__pycache__/')).sort();
    };
    out.push({ name, meta, tops, files });
  }
  return out;
}

/** The files a distribution lists (RECORD, or an egg's installed-files.txt), as logical paths. */
function recordOf(input: CollectInput, site: string, meta: string): string[] | undefined {
  const record = readText(input.fs, `${site}/${meta}/RECORD`);
  if (record !== undefined) {
    return record.split('\n').map((line) => csvFirst(line)).filter((f) => f !== '' && !f.includes('__pycache__/')).map((f) => path.posix.normalize(`${site}/${f}`));
  }
  const installed = readText(input.fs, `${site}/${meta}/installed-files.txt`);
  if (installed !== undefined) {
    return installed.split('\n').map((l) => l.trim()).filter((f) => f !== '' && !f.includes('__pycache__/')).map((f) => path.posix.normalize(`${site}/${meta}/${f}`));
  }
  return undefined;
}

/** The first field of a RECORD line (CSV: a path with a comma is quoted). */
export function csvFirst(line: string): string {
  if (!line.startsWith('"')) return line.split(',')[0]!.trim();
  const end = line.indexOf('",');
  return (end < 0 ? line.slice(1) : line.slice(1, end)).replace(/""/g, '"');
}
