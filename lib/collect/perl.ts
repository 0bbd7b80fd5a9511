// Perl: a bundled perl (or libperl) gets its core library directories whole (privlib, archlib,
// Debian's perl-base), every XS module's shared object with its closure, and each module a
// trace loaded from a vendor or site directory with its whole distribution (.packlist, else the
// package that installed it, else its namespace). @INC is read from the strings compiled into
// the binary, so no perl has to run (the root may be an image of another system).
import { closeSync, openSync, readSync } from 'node:fs';
import * as path from 'node:path';

import type { Diagnostic } from '../model/closure';
import type { RootFs } from '../resolve/rootfs';
import { collected, type Addition, type CollectFamily, type CollectInput, type FamilyResult } from './family';
import { isDir, isFile, listTree, readText } from './tree';

const FAMILY = 'perl';
/** How much of a binary is scanned for @INC strings (libperl is about 4 MiB). */
const SCAN_LIMIT = 32 * 1024 * 1024;

export const perlFamily: CollectFamily = { name: FAMILY, detect };

export interface PerlInc {
  core: string[];
  /** Vendor and site directories: only what a trace loaded, with its distribution. */
  vendor: string[];
}

function detect(input: CollectInput): FamilyResult {
  const binaries = input.files.filter((f) => f.kind === 'elf' && /^(perl(5[\d.]*)?|libperl\.so(\.[\d.]+)?)$/.test(path.posix.basename(f.path)));
  if (binaries.length === 0) return { additions: [], diagnostics: [] };
  const dirs = [...new Set(binaries.flatMap((b) => incStrings(input.fs, b.path)))].filter((d) => isDir(input.fs, d));
  const inc = classifyInc(dirs);
  const diagnostics: Diagnostic[] = [];
  if (inc.core.length === 0) {
    diagnostics.push({ level: 'warning', code: 'COLLECT_PERL_NO_INC', message: `perl: no core library directory found in ${binaries.map((b) => b.path).join(', ')}; only the modules the trace loaded are shipped` });
  }
  const additions: Addition[] = [];
  const core = collected(FAMILY, 'perl core library');
  for (const dir of inc.core) {
    // Skip other @INC directories inside this one (Fedora's vendor_perl under /usr/share/perl5).
    const nested = [...inc.core, ...inc.vendor].filter((d) => d !== dir && d.startsWith(`${dir}/`)).map((d) => d.slice(dir.length + 1));
    const skip = (rel: string, isDirectory: boolean) => (isDirectory ? nested.includes(rel) || rel === 'CORE' || rel === 'pod' : rel.endsWith('.pod'));
    for (const e of listTree(input.fs, dir, skip)) {
      additions.push({ path: e.path, reason: core, ...(e.relative.endsWith('.so') ? { droppable: `perl XS module ${e.relative}` } : {}) });
    }
  }
  additions.push(...vendorDistributions(input, inc));
  diagnostics.push({ level: 'info', code: 'COLLECT_PERL_SKIPPED', message: 'perl: the core library is shipped without C headers (CORE/) and documentation (*.pod)' });
  return { additions, diagnostics };
}

/** Directories compiled into a perl binary or libperl: absolute paths containing "perl". */
export function incStrings(fs: RootFs, logical: string): string[] {
  const walk = fs.resolve(logical);
  if (walk === null || !walk.stats.isFile()) return [];
  const fd = openSync(fs.hostPath(walk.path), 'r');
  let bytes: Buffer;
  try {
    bytes = Buffer.alloc(Math.min(walk.stats.size, SCAN_LIMIT));
    readSync(fd, bytes, 0, bytes.length, 0);
  } finally {
    closeSync(fd);
  }
  const out = new Set<string>();
  for (const m of bytes.toString('latin1').matchAll(/(?<=\0)(\/[A-Za-z0-9_.+\/-]*perl[A-Za-z0-9_.+\/-]*)(?=\0)/g)) {
    const dir = m[1]!;
    if (!dir.includes('/debug/') && !dir.endsWith('.so') && !/\.(pm|pl|h)$/.test(dir)) out.add(dir.replace(/\/+$/, ''));
  }
  return [...out];
}

/**
 * Core or vendor/site, by shape. Debian: core is .../perl/5.X, .../perl-base and
 * /usr/share/perl/5.X; /usr/share/perl5 and .../perl5/5.X are vendor. Fedora and upstream,
 * which have vendor_perl directories: /usr/share/perl5 and /usr/lib64/perl5 are core.
 */
export function classifyInc(dirs: string[]): PerlInc {
  const vendorPerl = dirs.some((d) => /vendor_perl/.test(d));
  const core: string[] = [];
  const vendor: string[] = [];
  for (const dir of [...new Set(dirs)].sort()) {
    if (dir === '/etc/perl' || dir.startsWith('/usr/local/') || /site_perl|vendor_perl/.test(dir)) vendor.push(dir);
    else if (/\/perl\/5[\d.]*$/.test(dir) || /\/perl-base$/.test(dir)) core.push(dir);
    else if (/\/perl5(\/[\d.]+)?$/.test(dir)) (vendorPerl ? core : vendor).push(dir);
  }
  return { core, vendor };
}

/** Traced modules under vendor or site directories, each with its whole distribution. */
function vendorDistributions(input: CollectInput, inc: PerlInc): Addition[] {
  const out: Addition[] = [];
  const shipped = new Set<string>();
  const archDirs = [...inc.core, ...inc.vendor];
  for (const file of input.files) {
    const dir = inc.vendor.find((d) => file.path.startsWith(`${d}/`));
    if (!dir || !/\.(pm|pl|so|al|ix)$/.test(file.path)) continue;
    const rel = file.path.slice(dir.length + 1);
    const namespace = (rel.startsWith('auto/') ? rel.slice(5) : rel).replace(/\.pm$/, '').split('/');
    const dist = packlistOf(input.fs, archDirs, namespace) ?? packageOf(input, file.path, [...inc.core, ...inc.vendor]) ?? namespaceOf(input.fs, dir, namespace[0]!);
    if (shipped.has(dist.name)) continue;
    shipped.add(dist.name);
    const reason = collected(FAMILY, `perl distribution ${dist.name}`);
    for (const f of dist.files) out.push({ path: f, reason, ...(f.endsWith('.so') ? { droppable: `perl distribution ${dist.name}: ${path.posix.basename(f)}` } : {}) });
  }
  return out;
}

interface PerlDist { name: string; files: string[] }

/** auto/Foo/Bar/.packlist for Foo::Bar, Foo (the longest namespace that has one). */
function packlistOf(fs: RootFs, dirs: string[], namespace: string[]): PerlDist | undefined {
  for (let n = namespace.length; n > 0; n--) {
    for (const dir of dirs) {
      const list = `${dir}/auto/${namespace.slice(0, n).join('/')}/.packlist`;
      const text = readText(fs, list);
      if (text === undefined) continue;
      const files = text.split('\n').map((l) => l.replace(/\s+\w+=.*$/, '').trim()).filter((f) => f.startsWith('/') && isFile(fs, f));
      return { name: namespace.slice(0, n).join('::'), files: [...new Set([...files, list])].sort() };
    }
  }
  return undefined;
}

/** The package that installed the module: its files inside @INC directories. */
function packageOf(input: CollectInput, file: string, dirs: string[]): PerlDist | undefined {
  const pkg = input.packages.ownerOf(file);
  if (pkg === undefined) return undefined;
  const files = input.packages.filesOf(pkg).filter((f) => dirs.some((d) => f.startsWith(`${d}/`)) && isFile(input.fs, f));
  return { name: pkg, files: files.sort() };
}

/** Foo.pm, Foo/ and auto/Foo/ in the module's directory. */
function namespaceOf(fs: RootFs, dir: string, top: string): PerlDist {
  const files = [
    ...(isFile(fs, `${dir}/${top}.pm`) ? [`${dir}/${top}.pm`] : []),
    ...listTree(fs, `${dir}/${top}`).map((e) => e.path),
    ...listTree(fs, `${dir}/auto/${top}`).map((e) => e.path),
  ];
  return { name: top, files: files.sort() };
}
