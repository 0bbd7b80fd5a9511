// Bad input: a clear error naming the input and a hint, and the documented exit status
// (2 bad input, 1 failure); warnings where the bundle is still usable.
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

import { runCli } from '../helpers/cli';
import { compile, sharedLibrary } from '../helpers/cc';
import { tempDir } from '../helpers/tmp';
import { runOnHost } from '../fixtures/run-in-root';

const dir = tempDir('sb-bad-');
const out = path.join(dir, 'out');

function create(...args: string[]) {
  return runCli(['create', '--out-dir', out, ...args]);
}

describe('inputs that cannot be bundled exit 2 with the input and a hint', () => {
  test('a file that is not a program', () => {
    const r = create('--name', 'x', '--from-host', '/etc/passwd');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/error\[ENTRY_NOT_PROGRAM\]: \/etc\/passwd is neither an ELF program nor a script/);
    expect(r.stderr).toMatch(/hint: /);
  });

  test('a truncated ELF', () => {
    const file = path.join(dir, 'truncated');
    writeFileSync(file, readFileSync('/usr/bin/jq').subarray(0, 2000));
    chmodSync(file, 0o755);
    const r = create('--name', 'x', '--from-host', file);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('ELF_TRUNCATED');
    expect(r.stderr).toContain(file);
  });

  test('a 32-bit ELF', () => {
    const file = path.join(dir, 'elf32');
    const bytes = Buffer.from(readFileSync('/usr/bin/jq'));
    bytes[4] = 1;
    writeFileSync(file, bytes);
    const r = create('--name', 'x', '--from-host', file);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/32-bit ELF/);
  });

  test('a missing path', () => {
    const r = create('--name', 'x', '--from-host', path.join(dir, 'no-such-program'));
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/ENTRY_NOT_FOUND.*no-such-program does not exist/);
  });

  test('a symlink loop', () => {
    symlinkSync('loop-b', path.join(dir, 'loop-a'));
    symlinkSync('loop-a', path.join(dir, 'loop-b'));
    const r = create('--name', 'x', '--from-host', path.join(dir, 'loop-a'));
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/PATH_SYMLINK_LOOP.*too many levels of symbolic links/);
  });

  test('bad options, and --json errors on stdout only', () => {
    expect(create('--name', 'x').status).toBe(2);
    expect(create('--name', 'x', '--from-host', '/usr/bin/jq', '--frobnicate').status).toBe(2);
    expect(create('--name', 'x', '--from-host', '/usr/bin/jq', '--log-level', 'loud').status).toBe(2);
    expect(create('--name', '../escape', '--from-host', '/usr/bin/jq').status).toBe(2);
    expect(create('--name', 'x', '--from-host', '/usr/bin/jq::trace="unterminated').status).toBe(2);
    const r = create('--name', 'x', '--from-host', '/etc/passwd', '--json');
    expect(r.status).toBe(2);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, error: { code: 'ENTRY_NOT_PROGRAM', input: '/etc/passwd' } });
    expect(runCli(['frobnicate']).status).toBe(2);
  });

  test('a run mode that cannot run the entry: a clear error, and nothing written', () => {
    expect(create('--name', 'x', '--from-host', '/usr/bin/jq', '--run-mode', 'sideways').stderr).toMatch(/--run-mode sideways is not one of auto, host, ns, bwrap, chroot/);
    // A program under /tmp cannot be shown at its path where the host's /tmp is bound.
    const inTmp = path.join(dir, 'jq-in-tmp');
    copyFileSync('/usr/bin/jq', inTmp);
    const r = create('--name', 'tmp-jq', '--from-host', inTmp, '--run-mode', 'ns');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/RUN_MODE_UNSUITABLE.*run mode ns cannot run jq-in-tmp: its payload has .*jq-in-tmp/);
    expect(existsSync(path.join(out, 'tmp-jq'))).toBe(false);
    // auto runs that entry in host mode instead, and says so.
    const auto = create('--name', 'tmp-jq', '--from-host', inTmp);
    expect(auto.status).toBe(0);
    expect(auto.stderr).toMatch(/run mode auto: jq-in-tmp runs in host mode/);
    expect(runOnHost([path.join(out, 'tmp-jq/bin/jq-in-tmp'), '-n', '1+1']).stdout).toBe('2\n');
  });

  test('a program with no loadable segment (e_phnum 0) is refused, not bundled as a static program', () => {
    const file = path.join(dir, 'no-segments');
    const bytes = Buffer.from(readFileSync('/usr/bin/true'));
    bytes.writeUInt16LE(0, 56);
    writeFileSync(file, bytes, { mode: 0o755 });
    const r = create('--name', 'x', '--from-host', file);
    expect(r.stderr).toMatch(/error\[ELF_MALFORMED\]: .*no-segments.*no loadable segment \(PT_LOAD\)/);
    expect(r.status).toBe(2);
  });

  test('an image request bound to fail is refused before the previous bundle is replaced', () => {
    expect(create('--name', 'kept', '--from-host', '/usr/bin/jq').status).toBe(0);
    const before = readFileSync(path.join(out, 'kept/manifest.lock'));
    const cases: Array<[string[], RegExp]> = [
      [['--oci-entry', 'nope', '--emit-oci', path.join(dir, 'oci')], /--oci-entry nope is not an entry of this bundle\n {2}hint: entries: ls; nothing was published/],
      [['--emit-oci-archive', '/dev/null/image.tar'], /--emit-oci-archive \/dev\/null\/image.tar: \/dev\/null is not a directory/],
      [['--emit-oci-archive', dir], /--emit-oci-archive \S+ is a directory/],
      [['--emit-oci', '/etc/passwd'], /--emit-oci \/etc\/passwd exists and is not a directory/],
      [['--emit-oci', '/etc/passwd/oci'], /--emit-oci \/etc\/passwd\/oci cannot be made: \/etc\/passwd is not a directory/],
      [['--emit-oci', '/etc'], /--emit-oci \/etc is a directory that holds other files and is no OCI image layout/],
    ];
    for (const [extra, message] of cases) {
      const r = create('--name', 'kept', '--from-host', '/usr/bin/ls', ...extra);
      expect({ extra, status: r.status, stderr: r.stderr }).toEqual({ extra, status: 2, stderr: expect.stringMatching(message) });
      expect(readFileSync(path.join(out, 'kept/manifest.lock'))).toEqual(before);
    }
    expect(existsSync(path.join(dir, 'oci'))).toBe(false);
  });

  test('a directory that is not a bundle is never replaced', () => {
    mkdirSync(path.join(out, 'precious'), { recursive: true });
    writeFileSync(path.join(out, 'precious/notes.txt'), 'keep me');
    const r = create('--name', 'precious', '--from-host', '/usr/bin/jq');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('OUTPUT_NOT_A_BUNDLE');
    expect(readFileSync(path.join(out, 'precious/notes.txt'), 'utf8')).toBe('keep me');
  });
});

describe('defects the loader would hit are reported with the chain that needed them', () => {
  test('a library cycle is a warning, and the bundle works', () => {
    const libs = path.join(dir, 'cycle');
    const origin = ['-Wl,--enable-new-dtags', '-Wl,-rpath,$ORIGIN'];
    sharedLibrary(libs, 'cyca', 1, 'int cyca(void) { return 1; }');
    sharedLibrary(libs, 'cycb', 1, 'int cyca(void); int cycb(void) { return cyca() + 1; }', [`-L${libs}`, '-lcyca', ...origin]);
    sharedLibrary(libs, 'cyca', 1, 'int cycb(void); int cyca(void) { return 1; } int twice(void) { return cycb(); }', [`-L${libs}`, '-lcycb', ...origin]);
    const program = compile(path.join(libs, 'prog'), '#include <stdio.h>\nint twice(void); int main(void) { printf("%d\\n", twice()); return 0; }', [
      `-L${libs}`, '-lcyca', '-Wl,--enable-new-dtags', '-Wl,-rpath,$ORIGIN',
    ]);
    const r = create('--name', 'cycle', '--from-host', program);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/dependency cycle: .*libcyca\.so\.1\.0\.1 -> .*libcycb\.so\.1\.0\.1 -> .*libcyca\.so\.1\.0\.1/);
    expect(runOnHost([path.join(out, 'cycle/bin/prog')]).stdout).toBe('2\n');
  });

  test('a missing DT_NEEDED is a warning with its chain; --strict-validate fails and keeps the old bundle', () => {
    const libs = path.join(dir, 'gone');
    sharedLibrary(libs, 'gone', 1, 'int gone(void) { return 0; }');
    sharedLibrary(libs, 'middle', 1, 'int gone(void); int middle(void) { return gone(); }', [`-L${libs}`, '-lgone']);
    const program = compile(path.join(libs, 'prog'), 'int middle(void); int main(void) { return middle(); }', [
      `-L${libs}`, '-lmiddle', '-Wl,--disable-new-dtags', `-Wl,-rpath,${libs}`,
    ]);
    // A working bundle first, under the name the strict run will try to replace.
    expect(create('--name', 'strict', '--from-host', '/usr/bin/jq').status).toBe(0);
    const before = readFileSync(path.join(out, 'strict/manifest.lock'));
    for (const f of ['libgone.so.1', 'libgone.so.1.0.1', 'libgone.so']) rmSync(path.join(libs, f));

    const warned = create('--name', 'lenient', '--from-host', program);
    expect(warned.status).toBe(0);
    expect(warned.stderr).toContain(`library libgone.so.1 not found, needed by ${program} -> ${libs}/libmiddle.so.1.0.1`);

    const strict = create('--name', 'strict', '--from-host', program, '--strict-validate');
    expect(strict.status).toBe(1);
    expect(strict.stderr).toContain('VALIDATION_FAILED');
    expect(strict.stderr).toContain('libgone.so.1');
    expect(readFileSync(path.join(out, 'strict/manifest.lock'))).toEqual(before);
    expect(execFileSync('ls', ['-a', out], { encoding: 'utf8' })).not.toMatch(/\.strict\.tmp/);
  });

  test('GPU driver libraries are left out and listed; --allow-gpu-libs bundles them', () => {
    const libdrm = '/usr/lib/x86_64-linux-gnu/libdrm.so.2';
    expect(existsSync(libdrm)).toBe(true);
    const program = compile(path.join(dir, 'gpu/prog'), '#include <stdio.h>\nint drmAvailable(void); int main(void) { printf("drm %d\\n", drmAvailable() >= 0); return 0; }', [libdrm]);
    const left = JSON.parse(create('--name', 'gpu', '--from-host', program, '--json').stdout).bundle;
    expect(left.excluded).toEqual([expect.objectContaining({ path: expect.stringMatching(/libdrm\.so\.2/), reason: expect.stringContaining('GPU'), neededName: 'libdrm.so.2' })]);
    const manifest = JSON.parse(readFileSync(path.join(left.dir, 'manifest.lock'), 'utf8'));
    expect(manifest.files.some((f: { path: string }) => f.path.includes('libdrm'))).toBe(false);
    expect(manifest.excluded).toHaveLength(1);
    const kept = JSON.parse(create('--name', 'gpu-kept', '--from-host', program, '--allow-gpu-libs', '--json').stdout).bundle;
    expect(kept.excluded).toEqual([]);
    expect(runOnHost([path.join(kept.dir, 'bin/prog')]).stdout).toBe('drm 1\n');
  });
});

describe('errors say what is wrong, not only that something is missing', () => {
  test('--trace-root that is a file or absent', () => {
    const file = create('--name', 'x', '--trace-root', '/etc/passwd', '--from-host', '/usr/bin/true');
    expect(file.status).toBe(2);
    expect(file.stderr).toContain('error[BAD_OPTION]: --trace-root /etc/passwd is not a directory');
    const absent = create('--name', 'x', '--trace-root', path.join(dir, 'no-root'), '--from-host', '/usr/bin/true');
    expect(absent.status).toBe(2);
    expect(absent.stderr).toMatch(/--trace-root .*no-root does not exist/);
  });

  test('a library that is a symlink loop is named as such', () => {
    const libs = path.join(dir, 'looplibs');
    mkdirSync(libs, { recursive: true });
    const program = compile(path.join(libs, 'prog'), 'int main(void) { return 0; }');
    execFileSync('patchelf', ['--add-needed', 'libloop.so.1', program]);
    execFileSync('patchelf', ['--set-rpath', libs, program]);
    symlinkSync('libloop.so.1', path.join(libs, 'libloop.so.1'));
    const r = create('--name', 'loop', '--from-host', program);
    expect(r.status).toBe(0);
    expect(r.stderr).toContain(`library libloop.so.1 unusable (${libs}/libloop.so.1 is a symlink loop), needed by `);
  });
});

describe('names from files cannot drive the terminal', () => {
  test('an error and a warning show the control characters of the names they quote as \\xNN', () => {
    const forged = path.join(dir, 'a\u001b[2K\rok: bundled');
    const r = create('--name', 'x', '--from-host', forged);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('a\\x1b[2K\\x0dok: bundled');
    expect(r.stderr).not.toContain('\u001b[2K');
    const tree = path.join(dir, 'tree-with-fifo');
    mkdirSync(tree, { recursive: true });
    execFileSync('mkfifo', [path.join(tree, 'p\u001b]0;title\u0007')]);
    const w = create('--name', 'x', '--from-host', '/bin/true', '--copy-dir', `${tree}:/opt/tree`);
    expect(w.status).toBe(0);
    expect(w.stderr).toContain('p\\x1b]0;title\\x07');
    expect(w.stderr).not.toContain('\u0007');
  });
});

describe('system errors are named, never INTERNAL', () => {
  test('--copy-dir of a kernel virtual file system', () => {
    const r = create('--name', 'x', '--from-host', '/bin/true', '--copy-dir', '/proc/self/fd:/opt/fd');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('error[COPY_DIR_VIRTUAL]: --copy-dir /proc/self/fd is /proc/');
  });

  test('--copy-dir over a program\'s file is the input\'s fault, not the output directory\'s', () => {
    const tree = path.join(dir, 'tree-over-jq');
    mkdirSync(path.join(tree, 'sub'), { recursive: true });
    writeFileSync(path.join(tree, 'sub', 'f'), 'x\n');
    const r = create('--name', 'x', '--from-host', '/usr/bin/jq', '--copy-dir', `${tree}:/usr/bin/jq`);
    expect(r.stderr).toContain(`error[PLAN_CONFLICT]: payload/usr/bin/jq is a file of the bundle, and also a directory: payload/usr/bin/jq/sub/f (copied from ${tree}/sub/f by --copy-dir) is under it`);
    expect(r.stderr).not.toContain('OUTPUT_');
    expect(r.status).toBe(2);
  });

  test('--copy-dir SRC:dest with a relative dest names the destination, not SRC:dest as a missing directory', () => {
    const r = create('--name', 'x', '--from-host', '/bin/true', '--copy-dir', '/usr/share/doc:opt/doc');
    expect(r.stderr).toContain('error[COPY_DIR_BAD_DEST]: --copy-dir /usr/share/doc:opt/doc: the destination opt/doc is not absolute');
    expect(r.status).toBe(2);
  });

  test('an entry the user may not read', () => {
    // A directory everyone may enter and write, holding a program no one but root may read.
    const open = tempDir('sb-unreadable-');
    chmodSync(open, 0o1777);
    const program = path.join(open, 'unreadable');
    copyFileSync('/bin/true', program);
    chmodSync(program, 0o000);
    const r = runCli(['create', '--name', 'x', '--out-dir', path.join(open, 'out'), '--no-cache', '--from-host', program], { uid: 65534, gid: 65534, env: { HOME: open } });
    expect(r.stderr).not.toContain('INTERNAL');
    expect(r.stderr).toMatch(new RegExp(`error\\[PERMISSION_DENIED\\]: cannot open ${program}: permission denied`));
    expect(r.status).toBe(2);
  });
});
