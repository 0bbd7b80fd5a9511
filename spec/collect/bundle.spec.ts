// Bundles that work on paths the trace never took: each program is traced with a narrow command,
// then run in the bare root (no libc, no python, no perl) with modules, charsets and NSS
// services the trace did not touch, printing exactly what the native program prints.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

import { bareRootfs } from '../fixtures/rootfs';
import { runInRoot, runOnHost } from '../fixtures/run-in-root';
import { createBundle } from '../helpers/cli';
import { tempDir } from '../helpers/tmp';

const dir = tempDir('sb-collect-');
const out = path.join(dir, 'out');
const MOUNT = '/tmp/b';

interface ManifestFile { path: string; reasons: Array<{ kind: string; what?: string; family?: string }> }
const manifestOf = (bundle: string): { files: ManifestFile[] } => JSON.parse(readFileSync(path.join(bundle, 'manifest.lock'), 'utf8'));
const fileIn = (bundle: string, suffix: string) => manifestOf(bundle).files.find((f) => f.path.endsWith(suffix));

const PY = [
  'import sqlite3, ssl, decimal, csv, ctypes, email, io',
  'from email.message import EmailMessage',
  "m = EmailMessage(); m['Subject'] = 'collected'; m.set_content('body')",
  "db = sqlite3.connect(':memory:'); db.execute('create table t (x)'); db.execute('insert into t values (41)')",
  "buf = io.StringIO(); csv.writer(buf).writerow(['a', db.execute('select x + 1 from t').fetchone()[0]])",
  "print(buf.getvalue().strip(), decimal.Decimal('1.1') + decimal.Decimal('2.2'), ssl.PROTOCOL_TLS_CLIENT.name, ctypes.sizeof(ctypes.c_long), m['Subject'], sqlite3.sqlite_version_info >= (3, 0, 0))",
].join('\n');
const PERL = 'use POSIX; use Data::Dumper; use List::Util qw(sum max); $Data::Dumper::Sortkeys = 1; print Dumper({ floor => floor(2.5), sum => sum(1..10), max => max(3, 9, 4) })';
const TEXT = 'Привет, мир';

const bundles: Record<string, string> = {};
beforeAll(() => {
  bundles.python = createBundle(['--name', 'python', '--out-dir', out, '--from-host', "/usr/bin/python3::trace=/usr/bin/python3 -c 'import json'"]).dir;
  bundles.pythonTraced = createBundle(['--name', 'python-traced', '--out-dir', out, '--collect', 'traced', '--from-host', "/usr/bin/python3::trace=/usr/bin/python3 -c 'import json'"]).dir;
  bundles.perl = createBundle(['--name', 'perl', '--out-dir', out, '--from-host', '/usr/bin/perl::trace=/usr/bin/perl -e 1']).dir;
  bundles.iconv = createBundle(['--name', 'iconv', '--out-dir', out, '--from-host', '/usr/bin/iconv::trace=/usr/bin/iconv -f UTF-8 -t ISO-8859-1 /dev/null']).dir;
  bundles.getent = createBundle(['--name', 'getent', '--out-dir', out, '--from-host', '/usr/bin/getent::trace=/usr/bin/getent passwd root']).dir;
});

const root = bareRootfs();
const run = (bundle: string, argv: string[], options: { binds?: Record<string, string>; input?: string } = {}) =>
  runInRoot(root, argv, { binds: { [bundle]: MOUNT, ...options.binds }, ...(options.input !== undefined ? { input: options.input } : {}) });

test('python3 traced with `import json` runs sqlite3, ssl, decimal, csv, ctypes and email like native', () => {
  // The precondition: the trace did not import them (the module came from collection).
  expect(fileIn(bundles.python!, '/lib-dynload/_sqlite3.cpython-311-x86_64-linux-gnu.so')?.reasons).toEqual([{ kind: 'collected', family: 'python', what: 'python stdlib' }]);
  const native = runOnHost(['/usr/bin/python3', '-c', PY]);
  expect(native.status).toBe(0);
  const bundled = run(bundles.python!, [`${MOUNT}/bin/python3`, '-c', PY]);
  expect(bundled.stderr).toBe('');
  expect(bundled.stdout).toBe(native.stdout);
});

test('with --collect traced the same bundle fails on those imports (collection is what makes it work)', () => {
  expect(fileIn(bundles.pythonTraced!, '/lib-dynload/_sqlite3.cpython-311-x86_64-linux-gnu.so')).toBeUndefined();
  const bundled = run(bundles.pythonTraced!, [`${MOUNT}/bin/python3`, '-c', PY]);
  expect(bundled.status).not.toBe(0);
  expect(bundled.stderr).toMatch(/ModuleNotFoundError/);
});

test('perl traced with -e 1 runs POSIX, Data::Dumper and List::Util (XS modules) like native', () => {
  expect(fileIn(bundles.perl!, '/auto/POSIX/POSIX.so')?.reasons).toEqual([{ kind: 'collected', family: 'perl', what: 'perl core library' }]);
  const native = runOnHost(['/usr/bin/perl', '-e', PERL]);
  expect(native.status).toBe(0);
  const bundled = run(bundles.perl!, [`${MOUNT}/bin/perl`, '-e', PERL]);
  expect(bundled.stderr).toBe('');
  expect(bundled.stdout).toBe(native.stdout);
});

test('iconv traced with ISO-8859-1 converts to KOI8-R (another gconv module) like native', () => {
  const koi = fileIn(bundles.iconv!, '/gconv/KOI8-R.so');
  expect(koi?.reasons.map((r) => r.kind)).toEqual(['collected']);
  expect(koi?.reasons[0]!.what).toMatch(/^plugin dir of \/usr\/lib\/x86_64-linux-gnu\/gconv\//);
  const native = spawnSync('/usr/bin/iconv', ['-f', 'UTF-8', '-t', 'KOI8-R'], { input: TEXT });
  expect(native.status).toBe(0);
  const expected = [...native.stdout].map((b) => b.toString(16).padStart(2, '0'));
  const bundled = run(bundles.iconv!, ['/bin/sh', '-c', `${MOUNT}/bin/iconv -f UTF-8 -t KOI8-R | od -An -tx1`], { input: TEXT });
  expect(bundled.stderr).toBe('');
  expect(bundled.stdout.trim().split(/\s+/)).toEqual(expected);
});

test('getent traced with the built-in files service answers through libnss_compat, which the trace never loaded', () => {
  const compat = fileIn(bundles.getent!, '/libnss_compat.so.2');
  expect(compat?.reasons.map((r) => r.kind)).toEqual(['collected']);
  const native = runOnHost(['/usr/bin/getent', 'passwd', 'root']);
  expect(native.status).toBe(0);
  const etc = path.join(dir, 'etc');
  mkdirSync(etc, { recursive: true });
  writeFileSync(path.join(etc, 'nsswitch.conf'), 'passwd: compat\ngroup: compat\n');
  writeFileSync(path.join(etc, 'passwd'), native.stdout);
  const bundled = run(bundles.getent!, [`${MOUNT}/bin/getent`, 'passwd', 'root'], { binds: { [etc]: '/etc' } });
  expect(bundled.stderr).toBe('');
  expect(bundled.stdout).toBe(native.stdout);
});
