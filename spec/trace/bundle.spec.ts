// Tracing makes bundles work where static analysis alone cannot: Python's extension modules and
// stdlib, Perl's modules, libraries loaded with dlopen, git's helpers. Each bundle runs in the
// bare and bullseye roots and prints exactly what the program prints natively.
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';

import { bareRootfs, bullseyeRootfs } from '../fixtures/rootfs';
import { runInRoot, runOnHost } from '../fixtures/run-in-root';
import { compile, sharedLibrary } from '../helpers/cc';
import { createBundle, runCli } from '../helpers/cli';
import { tempDir } from '../helpers/tmp';

const dir = tempDir('sb-traced-');
const out = path.join(dir, 'out');
const MOUNT = '/tmp/b';

const PY_SCRIPT = path.join(dir, 'work.py');
writeFileSync(PY_SCRIPT, [
  'import ssl, sqlite3, ctypes, json',
  "db = sqlite3.connect(':memory:')",
  "db.execute('create table t (x)')",
  "db.executemany('insert into t values (?)', [(1,), (2,), (39,)])",
  "print(json.dumps({'sum': db.execute('select sum(x) from t').fetchone()[0], 'tls': ssl.PROTOCOL_TLS_CLIENT.name,",
  "                  'long': ctypes.sizeof(ctypes.c_long), 'sqlite': sqlite3.sqlite_version_info >= (3, 0, 0)}))",
  '',
].join('\n'));
const PERL = ['-MPOSIX', '-MData::Dumper', '-e', '$Data::Dumper::Sortkeys = 1; print Dumper({ floor => floor(2.5), pi => sprintf("%.3f", 4 * atan2(1, 1)) })'];

const base = path.join(dir, 'dl');
sharedLibrary(base, 'sbplugin', 1, '#include <stdio.h>\nvoid plugin_hello(void) { puts("hello from a dlopened plugin"); }\n');
const loader = compile(path.join(base, 'loader'), `
#include <dlfcn.h>
#include <stdio.h>
int main(void) {
  void *h = dlopen("libsbplugin.so.1", RTLD_NOW);
  if (!h) { fprintf(stderr, "dlopen: %s\\n", dlerror()); return 1; }
  ((void (*)(void)) dlsym(h, "plugin_hello"))();
  return 0;
}`, ['-ldl', '-Wl,--enable-new-dtags', '-Wl,-rpath,$ORIGIN']);

const bundles: Record<string, string> = {};
beforeAll(() => {
  bundles.python = createBundle(['--name', 'python', '--out-dir', out, '--from-host',
    "/usr/bin/python3::trace=/usr/bin/python3 -c 'import ssl, sqlite3, ctypes, lzma, bz2, decimal, json'"]).dir;
  // --collect traced: only what resolve and trace found (collection would add the stdlib).
  bundles.pythonUntraced = createBundle(['--name', 'python-untraced', '--out-dir', out, '--trace-backend', 'off', '--collect', 'traced', '--from-host',
    "/usr/bin/python3::trace=/usr/bin/python3 -c 'import ssl, sqlite3, ctypes, lzma, bz2, decimal, json'"]).dir;
  bundles.perl = createBundle(['--name', 'perl', '--out-dir', out, '--from-host', `/usr/bin/perl::trace=/usr/bin/perl ${PERL.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ')}`]).dir;
  // The plugin lives under /tmp, which the trace policy never ships unless told to.
  bundles.loader = createBundle(['--name', 'loader', '--out-dir', out, '--trace-include', base, '--from-host', `${loader}::trace=${loader}`]).dir;
  bundles.git = createBundle(['--name', 'git', '--out-dir', out, '--from-host',
    "/usr/bin/git::trace=/bin/sh -c 'cd $(mktemp -d) && git init -q && git -c user.name=t -c user.email=t@example.com commit -q --allow-empty -m first && git log --format=%s'"]).dir;
});

describe.each([
  ['bare', bareRootfs],
  ['bullseye', bullseyeRootfs],
])('inside the %s rootfs', (_name, rootOf) => {
  const root = rootOf();
  const run = (bundle: string, argv: string[], extra: Record<string, string> = {}) =>
    runInRoot(root, argv, { binds: { [bundle]: MOUNT, ...extra } });

  test('python3 with the traced stdlib runs ssl, sqlite3 and ctypes code like native', () => {
    const native = runOnHost(['/usr/bin/python3', PY_SCRIPT]);
    const bundled = run(bundles.python!, [`${MOUNT}/bin/python3`, '/tmp/work.py'], { [PY_SCRIPT]: '/tmp/work.py' });
    expect(bundled.stderr).toBe('');
    expect(bundled.stdout).toBe(native.stdout);
  });

  test('without tracing the same bundle fails on import ssl (tracing matters)', () => {
    const bundled = run(bundles.pythonUntraced!, [`${MOUNT}/bin/python3`, '-c', 'import ssl']);
    expect(bundled.status).not.toBe(0);
  });

  test('perl with POSIX and Data::Dumper', () => {
    const native = runOnHost(['/usr/bin/perl', ...PERL]);
    const bundled = run(bundles.perl!, [`${MOUNT}/bin/perl`, ...PERL]);
    expect(bundled.stderr).toBe('');
    expect(bundled.stdout).toBe(native.stdout);
  });

  test('a program that dlopens a library by name', () => {
    const native = runOnHost([loader]);
    const bundled = run(bundles.loader!, [`${MOUNT}/bin/loader`]);
    expect(bundled.stderr).toBe('');
    expect(bundled.stdout).toBe(native.stdout);
  });
});

test('git init and git commit with the bundled git in the bullseye rootfs', () => {
  const script = `cd /tmp && mkdir repo && cd repo && ${MOUNT}/bin/git init -q && ${MOUNT}/bin/git -c user.name=t -c user.email=t@example.com commit -q --allow-empty -m first && ${MOUNT}/bin/git log --format=%s && ${MOUNT}/bin/git rev-parse --is-inside-work-tree && ls .git/hooks | head -n 1`;
  const bundled = runInRoot(bullseyeRootfs(), ['/bin/sh', '-c', script], { binds: { [bundles.git!]: MOUNT } });
  expect(bundled.stderr).toBe('');
  expect(bundled.stdout).toMatch(/^first\ntrue\n\S+\.sample\n$/);
});

test('the manifest marks traced files (payload files, no second tree) with digests, and what the policy left out', () => {
  const manifest = JSON.parse(require('node:fs').readFileSync(path.join(bundles.python!, 'manifest.lock'), 'utf8'));
  type Listed = { path: string; sha256: string; reasons: Array<{ kind: string }> };
  const traced = manifest.files.filter((f: Listed) => f.reasons.some((r) => r.kind === 'traced'));
  expect(traced.map((f: Listed) => f.path)).toContain('payload/usr/lib/python3.11/json/__init__.py');
  expect(traced.every((f: Listed) => /^[0-9a-f]{64}$/.test(f.sha256))).toBe(true);
  expect(require('node:fs').existsSync(path.join(bundles.python!, 'resources'))).toBe(false);
  // python reads the build machine's timezone: the target has its own.
  expect(manifest.excluded).toContainEqual(expect.objectContaining({ path: '/etc/localtime', reason: expect.stringContaining('build machine') }));
});

test('--trace-include ships a path the policy leaves out; the excluded list says why otherwise', () => {
  const without = runCli(['create', '--name', 'inc-a', '--out-dir', out, '--json', '--from-host', '/usr/bin/cat::trace=/usr/bin/cat /etc/hostname']);
  const a = JSON.parse(without.stdout).bundle;
  expect(a.excluded).toContainEqual(expect.objectContaining({ path: '/etc/hostname', reason: expect.stringContaining('build machine') }));
  const withIt = runCli(['create', '--name', 'inc-b', '--out-dir', out, '--json', '--trace-include', '/etc/hostname', '--from-host', '/usr/bin/cat::trace=/usr/bin/cat /etc/hostname']);
  expect(JSON.parse(withIt.stdout).bundle.excluded.some((e: { path: string }) => e.path === '/etc/hostname')).toBe(false);
});
