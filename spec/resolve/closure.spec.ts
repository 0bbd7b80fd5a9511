// The resolver against the real dynamic loader: for host programs and for test programs built
// to exercise each rule (RPATH inheritance, RUNPATH, $ORIGIN, NODEFLIB, wrong-class files), the
// files we find are the files `ld.so --list` maps.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

import { buildClosure } from '../../lib/resolve/closure';
import { RootFs } from '../../lib/resolve/rootfs';
import { compile, sharedLibrary } from '../helpers/cc';
import { bullseyeRootfs } from '../fixtures/rootfs';
import { tempDir } from '../helpers/tmp';

const LDSO = '/lib64/ld-linux-x86-64.so.2';

/** What ld.so maps (ldd's mode): name → real path or 'not found', the loader itself included. */
function loaderList(program: string): Map<string, string> {
  const result = spawnSync(LDSO, [program], { encoding: 'utf8', env: { LD_TRACE_LOADED_OBJECTS: '1' } });
  const map = new Map<string, string>();
  for (const line of result.stdout.split('\n')) {
    const found = /^\s+(\S+) => (\S+) \(/.exec(line);
    const missing = /^\s+(\S+) => not found/.exec(line);
    const direct = /^\s+(\/\S+) \(/.exec(line);
    if (found) map.set(found[1]!, found[2]!);
    else if (missing) map.set(missing[1]!, 'not found');
    else if (direct) map.set(path.basename(direct[1]!), direct[1]!);
  }
  return map;
}

/** What ld.so maps: the closure without the loader cache it reads (kept for run modes). */
function libraries<T extends { reasons: Array<{ kind: string }> }>(files: T[]): T[] {
  return files.filter((f) => !f.reasons.some((r) => r.kind === 'loader-cache'));
}

/** Canonical paths; inside another root, absolute links must resolve in that root (RootFs). */
function realSet(paths: Iterable<string>, root = '/'): string[] {
  const fs = new RootFs(root);
  return [...new Set([...paths].map((p) => (root === '/' ? realpathSync(p) : fs.resolve(p)!.path)))].sort();
}

/** Linkers write DT_RPATH or DT_RUNPATH, never both, and patchelf turns one into the other. So
 * the program's DT_DEBUG entry (filled by ld.so for debuggers, no part of the search) becomes a
 * DT_RPATH naming the tail of the DT_RUNPATH string that starts `skip` bytes in. */
function retagAsRpath(file: string, skip: number): void {
  const elf = readFileSync(file);
  const [phoff, phentsize, phnum] = [Number(elf.readBigUInt64LE(0x20)), elf.readUInt16LE(0x36), elf.readUInt16LE(0x38)];
  const dynamic = Array.from({ length: phnum }, (_, i) => phoff + i * phentsize).find((ph) => elf.readUInt32LE(ph) === 2 /* PT_DYNAMIC */)!;
  const [start, size] = [Number(elf.readBigUInt64LE(dynamic + 8)), Number(elf.readBigUInt64LE(dynamic + 32))];
  const entries = Array.from({ length: size / 16 }, (_, i) => start + i * 16);
  const tagged = (tag: bigint) => entries.find((at) => elf.readBigInt64LE(at) === tag);
  const [runpath, debug] = [tagged(29n /* DT_RUNPATH */), tagged(21n /* DT_DEBUG */)];
  if (runpath === undefined || debug === undefined) throw new Error(`${file}: no DT_RUNPATH or DT_DEBUG to work with`);
  elf.writeBigInt64LE(15n /* DT_RPATH */, debug);
  elf.writeBigUInt64LE(elf.readBigUInt64LE(runpath + 8) + BigInt(skip), debug + 8);
  writeFileSync(file, elf);
}

describe('closures of host programs match ld.so --list', () => {
  const programs = ['/usr/bin/jq', '/usr/bin/curl', '/usr/bin/git', '/usr/bin/python3.11', '/usr/bin/perl', '/usr/bin/bash', '/usr/bin/node'];
  test.each(programs)('%s', (program) => {
    const draft = buildClosure({ entries: [{ path: program }] });
    expect(draft.missing).toEqual([]);
    const ours = libraries(draft.files).filter((f) => f.path !== program).map((f) => f.path);
    // The root's /etc/ld.so.cache goes along: the bundled loader reads it where the payload is /.
    expect(draft.files.find((f) => f.reasons.some((r) => r.kind === 'loader-cache'))?.path).toBe('/etc/ld.so.cache');
    const theirs = [...loaderList(program).values()];
    expect(realSet(ours)).toEqual(realSet(theirs));
    const entry = draft.entries[0]!;
    expect(entry.kind).toBe('elf-dynamic');
    expect(entry.loader).toBe(realpathSync(LDSO));
    expect(entry.glibc).toMatch(/^2\.\d+$/);
  });
});

describe('search rules, checked against ld.so on programs built for each rule', () => {
  const dir = tempDir('sb-search-');
  const libSource = (name: string, calls: string[] = []) =>
    `${calls.map((c) => `int ${c}(void);`).join('\n')}\nint ${name}(void) { return 1${calls.map((c) => ` + ${c}()`).join('')}; }\n`;

  function check(program: string, expectMissing: string[] = []) {
    const draft = buildClosure({ entries: [{ path: program }] });
    const oracle = loaderList(program);
    const oracleMissing = [...oracle].filter(([, p]) => p === 'not found').map(([n]) => n).sort();
    expect(draft.missing.map((m) => m.name).sort()).toEqual(oracleMissing);
    expect(oracleMissing).toEqual(expectMissing.sort());
    const found = [...oracle.values()].filter((p) => p !== 'not found');
    expect(realSet(libraries(draft.files).filter((f) => f.path !== program && !f.reasons.some((r) => r.kind === 'hwcaps-variant')).map((f) => f.path))).toEqual(realSet(found));
    return draft;
  }

  test('$ORIGIN RUNPATH and a soname symlink chain', () => {
    const app = path.join(dir, 'origin');
    sharedLibrary(path.join(app, 'lib'), 'greet', 1, libSource('greet'));
    compile(path.join(app, 'bin/app'), 'int greet(void); int main(void) { return greet() - 1; }', [
      `-L${path.join(app, 'lib')}`, '-lgreet', '-Wl,--enable-new-dtags', "-Wl,-rpath,$ORIGIN/../lib",
    ]);
    const draft = check(path.join(app, 'bin/app'));
    const lib = draft.files.find((f) => f.path.endsWith('libgreet.so.1.0.1'))!;
    expect(lib.reasons[0]).toMatchObject({ kind: 'needed', name: 'libgreet.so.1', via: 'runpath' });
    expect(draft.symlinks).toContainEqual({ path: path.join(app, 'lib/libgreet.so.1'), target: 'libgreet.so.1.0.1' });
    // Found through $ORIGIN: the bundle finds it the same way, so it is not on the library path.
    expect(draft.entries[0]!.libraryPath).not.toContain(path.join(app, 'lib'));
  });

  test('a RUNPATH directory behind a symlink loop is skipped, as ld.so skips it; the next one is searched', () => {
    const app = path.join(dir, 'loop');
    sharedLibrary(path.join(app, 'lib'), 'greet', 1, libSource('greet'));
    mkdirSync(path.join(app, 'bin'), { recursive: true });
    symlinkSync('y', path.join(app, 'bin/x'));
    symlinkSync('x', path.join(app, 'bin/y'));
    compile(path.join(app, 'bin/app'), 'int greet(void); int main(void) { return greet() - 1; }', [
      `-L${path.join(app, 'lib')}`, '-lgreet', '-Wl,--enable-new-dtags', '-Wl,-rpath,$ORIGIN/x:$ORIGIN/../lib',
    ]);
    const draft = check(path.join(app, 'bin/app'));
    expect(draft.files.find((f) => f.path.endsWith('libgreet.so.1.0.1'))!.reasons[0]).toMatchObject({ kind: 'needed', via: 'runpath' });
  });

  test('DT_RPATH is inherited by what the program loads; DT_RUNPATH is not', () => {
    const base = path.join(dir, 'inherit');
    const libs = path.join(base, 'libs');
    sharedLibrary(libs, 'leaf', 1, libSource('leaf'));
    sharedLibrary(libs, 'mid', 1, libSource('mid', ['leaf']), [`-L${libs}`, '-lleaf']);
    const source = 'int mid(void); int main(void) { return mid() - 2; }';
    compile(path.join(base, 'with-rpath'), source, [`-L${libs}`, '-lmid', '-Wl,--disable-new-dtags', `-Wl,-rpath,${libs}`]);
    compile(path.join(base, 'with-runpath'), source, [`-L${libs}`, '-lmid', '-Wl,--enable-new-dtags', `-Wl,-rpath,${libs}`]);
    const rpath = check(path.join(base, 'with-rpath'));
    expect(rpath.files.find((f) => f.path.endsWith('libleaf.so.1.0.1'))!.reasons[0]).toMatchObject({ via: 'rpath', by: path.join(libs, 'libmid.so.1.0.1') });
    const runpath = check(path.join(base, 'with-runpath'), ['libleaf.so.1']);
    expect(runpath.missing[0]!.chain).toEqual([path.join(base, 'with-runpath'), path.join(libs, 'libmid.so.1.0.1')]);
  });

  test('an object with both RPATH and RUNPATH ignores its RPATH', () => {
    const base = path.join(dir, 'both');
    const [viaRpath, viaRunpath] = [path.join(base, 'a'), path.join(base, 'b')];
    sharedLibrary(viaRpath, 'pick', 1, libSource('pick'));
    sharedLibrary(viaRunpath, 'pick', 1, libSource('pick'));
    const prog = compile(path.join(base, 'prog'), 'int pick(void); int main(void) { return pick() - 1; }', [
      `-L${viaRpath}`, '-lpick', '-Wl,--enable-new-dtags', `-Wl,-rpath,${viaRunpath}:${viaRpath}`,
    ]);
    retagAsRpath(prog, `${viaRunpath}:`.length);
    // The precondition, as readelf sees it: both tags, the RPATH naming only the first directory.
    const dynamic = execFileSync('readelf', ['-d', prog], { encoding: 'utf8' });
    expect(dynamic).toContain(`(RPATH)              Library rpath: [${viaRpath}]`);
    expect(dynamic).toContain(`(RUNPATH)            Library runpath: [${viaRunpath}:${viaRpath}]`);
    // ld.so searches the RUNPATH alone: b, although the RPATH names a, which also holds the library.
    const draft = check(prog);
    expect(draft.files.find((f) => f.path.startsWith(viaRunpath) && f.path.endsWith('libpick.so.1.0.1'))?.reasons[0]).toMatchObject({ via: 'runpath' });
    expect(draft.files.some((f) => f.path.startsWith(viaRpath))).toBe(false);
  });

  test('an ELF of another machine in the search path is skipped, as ld.so skips it', () => {
    const base = path.join(dir, 'skip');
    const real = path.join(base, 'real');
    const other = path.join(base, 'other');
    const lib = sharedLibrary(real, 'skipme', 1, libSource('skipme'));
    mkdirSync(other, { recursive: true });
    const foreign = readFileSync(lib);
    foreign.writeUInt16LE(183, 18); // e_machine: AArch64
    writeFileSync(path.join(other, 'libskipme.so.1'), foreign);
    compile(path.join(base, 'prog'), 'int skipme(void); int main(void) { return skipme() - 1; }', [
      `-L${real}`, '-lskipme', '-Wl,--disable-new-dtags', `-Wl,-rpath,${other}:${real}`,
    ]);
    const draft = check(path.join(base, 'prog'));
    expect(draft.diagnostics.some((d) => d.code === 'LIBRARY_SKIPPED' && d.message.includes('AArch64'))).toBe(true);
  });

  test('a file that is not ELF where the loader looks stops the search, as it stops ld.so', () => {
    const base = path.join(dir, 'lose');
    const real = path.join(base, 'real');
    const junk = path.join(base, 'junk');
    sharedLibrary(real, 'lose', 1, libSource('lose'));
    mkdirSync(junk, { recursive: true });
    writeFileSync(path.join(junk, 'liblose.so.1'), 'this is not an ELF file\n');
    const program = compile(path.join(base, 'prog'), 'int lose(void); int main(void) { return lose() - 1; }', [
      `-L${real}`, '-llose', '-Wl,--disable-new-dtags', `-Wl,-rpath,${junk}:${real}`,
    ]);
    const loader = spawnSync(LDSO, [program], { encoding: 'utf8', env: { LD_TRACE_LOADED_OBJECTS: '1' } });
    expect(loader.status).not.toBe(0);
    expect(loader.stderr).toMatch(/liblose\.so\.1/);
    const draft = buildClosure({ entries: [{ path: program }] });
    expect(draft.missing.map((m) => m.name)).toEqual(['liblose.so.1']);
    expect(draft.diagnostics.find((d) => d.code === 'LIBRARY_UNLOADABLE')!.level).toBe('warning');
  });

  test('DF_1_NODEFLIB: no cache and no system directories for that object', () => {
    const base = path.join(dir, 'nodeflib');
    sharedLibrary(base, 'needz', 1, '#include <zlib.h>\nconst char *needz(void) { return zlibVersion(); }\n', ['-lz', '-Wl,-z,nodefaultlib']);
    compile(path.join(base, 'prog'), 'const char *needz(void); int main(void) { return needz()[0] == 0; }', [
      `-L${base}`, '-lneedz', '-Wl,--disable-new-dtags', `-Wl,-rpath,${base}`,
    ]);
    check(path.join(base, 'prog'), ['libz.so.1']);
  });

  test('${ORIGIN} and $LIB tokens expand as glibc expands them', () => {
    const base = path.join(dir, 'tokens');
    sharedLibrary(path.join(base, 'lib/x86_64-linux-gnu'), 'tok', 1, libSource('tok'));
    compile(path.join(base, 'bin/prog'), 'int tok(void); int main(void) { return tok() - 1; }', [
      `-L${path.join(base, 'lib/x86_64-linux-gnu')}`, '-ltok', '-Wl,--enable-new-dtags', '-Wl,-rpath,${ORIGIN}/../$LIB',
    ]);
    check(path.join(base, 'bin/prog'));
  });
});

describe('resolution inside another root', () => {
  test('bullseye jq resolves to bullseye files, as bullseye ld.so says', () => {
    const root = bullseyeRootfs();
    const draft = buildClosure({ root, entries: [{ path: '/usr/bin/jq' }] });
    expect(draft.missing).toEqual([]);
    const inside = spawnSync('bwrap', ['--ro-bind', root, '/', '--proc', '/proc', '--dev', '/dev', LDSO, '--list', '/usr/bin/jq'], { encoding: 'utf8' });
    const theirs = [...inside.stdout.matchAll(/=> (\S+) \(|^\s+(\/\S+) \(/gm)].map((m) => m[1] ?? m[2]!);
    expect(realSet(libraries(draft.files).filter((f) => f.path !== '/usr/bin/jq').map((f) => f.path), root)).toEqual(realSet(theirs, root));
    const libc = draft.files.find((f) => f.elf?.soname === 'libc.so.6')!;
    expect(libc.path.startsWith('/')).toBe(true);
    expect(draft.entries[0]!.glibc).toBe('2.30'); // bullseye's libc defines up to GLIBC_2.30 (glibc 2.31 added none)
  });
});
