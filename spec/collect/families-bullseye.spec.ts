// Bundles that work on paths the trace never took, on an older system: each program is traced on
// this host with a narrow command, then run in the Debian 11 root (glibc 2.31, its own python3.9
// and perl 5.32) in the host and ns run modes, with modules, charsets, terminals and time zones
// the trace did not touch, printing exactly what the native program prints here. The modules and
// charsets run in the bare root too, in both modes (bundle.spec.ts runs them there in the default
// mode). Time zones and terminal descriptions are not shipped: they come from the target, which
// has tzdata and ncurses-base.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

import { bareRootfs, bullseyeRootfs } from '../fixtures/rootfs';
import { runInRoot, runOnHost, type RunResult } from '../fixtures/run-in-root';
import { createBundle } from '../helpers/cli';
import { tempDir } from '../helpers/tmp';

jest.setTimeout(300_000);

const out = path.join(tempDir('sb-collect-bullseye-'), 'out');
const MOUNT = '/tmp/b';

interface ManifestFile { path: string; reasons: Array<{ kind: string; what?: string; family?: string }> }
const manifestOf = (bundle: string): { files: ManifestFile[] } => JSON.parse(readFileSync(path.join(bundle, 'manifest.lock'), 'utf8'));
const fileIn = (bundle: string, suffix: string) => manifestOf(bundle).files.find((f) => f.path.endsWith(suffix));

// A stdlib module and extension modules (with their libraries: libmpdec, libsqlite3, libncursesw)
// the trace never imported.
const PY = [
  'import datetime, decimal, sqlite3, curses, unicodedata',
  "db = sqlite3.connect(':memory:')",
  "print(decimal.Decimal(1) / decimal.Decimal(7), db.execute('select 6 * 7').fetchone()[0], curses.ERR, unicodedata.name('\\u00e9'))",
].join('\n');
// A terminal description and a time zone the target has.
const PY_TARGET = [
  'import curses, datetime, zoneinfo',
  "curses.setupterm('xterm-256color', 1)",
  "print(curses.tigetnum('colors'), curses.tigetstr('setaf') is not None, datetime.datetime.fromtimestamp(0, zoneinfo.ZoneInfo('Asia/Tokyo')).isoformat())",
].join('\n');
// XS modules (POSIX, List::Util, Data::Dumper).
const PERL = 'use POSIX qw(floor); use Data::Dumper; use List::Util qw(sum max); $Data::Dumper::Sortkeys = 1; print Dumper({ floor => floor(2.5), sum => sum(1..10), max => max(3, 9, 4) })';
const PERL_TZ = "use POSIX qw(strftime tzset); $ENV{TZ} = 'Europe/Berlin'; tzset(); print strftime('%F %T %Z', localtime(0)), \"\\n\"";
const TEXT = 'Привет, мир';

const bundles: Record<string, string> = {};
beforeAll(() => {
  const create = (name: string, entry: string) => (bundles[name] = createBundle(['--name', name, '--out-dir', out, '--from-host', entry]).dir);
  create('python', "/usr/bin/python3::trace=/usr/bin/python3 -c 'import json'");
  create('perl', '/usr/bin/perl::trace=/usr/bin/perl -e 1');
  create('iconv', '/usr/bin/iconv::trace=/usr/bin/iconv -f UTF-8 -t ISO-8859-1 /dev/null');
  create('date', '/usr/bin/date::trace=/usr/bin/date -u +%s');
  create('tput', '/usr/bin/tput::trace=/usr/bin/tput -T dumb cols');
});

const root = bullseyeRootfs();

test('the preconditions: the target has its own older python and perl, tzdata and ncurses-base; the bundles ship neither zones nor xterm', () => {
  expect(existsSync(path.join(root, 'usr/bin/python3.9'))).toBe(true);
  expect(existsSync(path.join(root, 'usr/bin/python3.11'))).toBe(false);
  for (const pkg of ['tzdata', 'ncurses-base']) expect(existsSync(path.join(root, `var/lib/dpkg/info/${pkg}.list`))).toBe(true);
  for (const file of ['usr/share/zoneinfo/Asia/Tokyo', 'usr/share/zoneinfo/Europe/Berlin', 'usr/share/zoneinfo/America/New_York', 'lib/terminfo/x/xterm-256color']) expect(existsSync(path.join(root, file))).toBe(true);
  for (const bundle of Object.values(bundles)) {
    const files = manifestOf(bundle).files.map((f) => f.path);
    expect(files.filter((f) => /share\/zoneinfo\/(Asia|Europe|America)\/|terminfo\/x\//.test(f))).toEqual([]);
  }
  // What the trace did not touch came from collection.
  for (const suffix of ['_decimal.cpython-311-x86_64-linux-gnu.so', '_sqlite3.cpython-311-x86_64-linux-gnu.so', '_curses.cpython-311-x86_64-linux-gnu.so', '/zoneinfo/__init__.py']) {
    expect(fileIn(bundles.python!, suffix)?.reasons).toEqual([{ kind: 'collected', family: 'python', what: 'python stdlib' }]);
  }
  expect(fileIn(bundles.perl!, '/auto/POSIX/POSIX.so')?.reasons).toEqual([{ kind: 'collected', family: 'perl', what: 'perl core library' }]);
  expect(fileIn(bundles.iconv!, '/gconv/KOI8-R.so')?.reasons.map((r) => r.kind)).toEqual(['collected']);
});

const runner = (root: string, mode: string) => (bundle: string, argv: string[], options: { env?: Record<string, string>; input?: string } = {}): RunResult =>
  runInRoot(root, argv, { binds: { [bundles[bundle]!]: MOUNT }, env: { SIDEBUNDLE_RUN_MODE: mode, ...options.env }, ...(options.input === undefined ? {} : { input: options.input }) });
const same = (bundled: RunResult, native: RunResult) => {
  expect(native.status).toBe(0);
  expect({ status: bundled.status, stderr: bundled.stderr, stdout: bundled.stdout }).toEqual({ status: 0, stderr: '', stdout: native.stdout });
};

// The modules and charsets the bundle carries: in the Debian 11 root and in the bare one (where
// bundle.spec.ts runs them in the default mode only).
describe.each([
  ['bullseye', 'host'],
  ['bullseye', 'ns'],
  ['bare', 'host'],
  ['bare', 'ns'],
])('the %s root, run mode %s', (rootName, mode) => {
  const run = runner(rootName === 'bullseye' ? root : bareRootfs(), mode);

  test('python3 traced with `import json` runs decimal, sqlite3, curses and unicodedata like native', () => {
    const native = runOnHost(['/usr/bin/python3', '-c', PY]);
    expect(native.stdout).toBe('0.1428571428571428571428571429 42 -1 LATIN SMALL LETTER E WITH ACUTE\n');
    same(run('python', [`${MOUNT}/bin/python3`, '-c', PY]), native);
  });

  test('perl traced with -e 1 runs POSIX, Data::Dumper and List::Util (XS) like native', () => {
    const native = runOnHost(['/usr/bin/perl', '-e', PERL]);
    expect(native.stdout).toContain("'sum' => 55");
    same(run('perl', [`${MOUNT}/bin/perl`, '-e', PERL]), native);
  });

  test('iconv traced with ISO-8859-1 converts to KOI8-R (another gconv module) like native', () => {
    const native = spawnSync('/usr/bin/iconv', ['-f', 'UTF-8', '-t', 'KOI8-R'], { input: TEXT });
    expect(native.status).toBe(0);
    const expected = [...native.stdout].map((b) => b.toString(16).padStart(2, '0'));
    const bundled = run('iconv', ['/bin/sh', '-c', `${MOUNT}/bin/iconv -f UTF-8 -t KOI8-R | od -An -tx1`], { input: TEXT });
    expect(bundled.stderr).toBe('');
    expect(bundled.stdout.trim().split(/\s+/)).toEqual(expected);
  });
});

// Time zones and terminal descriptions are the target's (the bare root has none).
describe.each(['host', 'ns'])('the bullseye root, run mode %s: what comes from the target', (mode) => {
  const run = runner(root, mode);

  test('python3 reads xterm-256color and Asia/Tokyo from the target, like native', () => {
    const native = runOnHost(['/usr/bin/python3', '-c', PY_TARGET]);
    expect(native.stdout).toBe('256 True 1970-01-01T09:00:00+09:00\n');
    same(run('python', [`${MOUNT}/bin/python3`, '-c', PY_TARGET]), native);
  });

  test('perl prints a time in Europe/Berlin, like native', () => {
    const native = runOnHost(['/usr/bin/perl', '-e', PERL_TZ]);
    expect(native.stdout).toBe('1970-01-01 01:00:00 CET\n');
    same(run('perl', [`${MOUNT}/bin/perl`, '-e', PERL_TZ]), native);
  });

  test('date traced in UTC prints a time in a zone the target has, like native', () => {
    const argv = ['-d', '@0', '+%F %T %Z'];
    const env = { TZ: 'America/New_York' };
    const native = runOnHost(['/usr/bin/date', ...argv], { env });
    expect(native.stdout).toBe('1969-12-31 19:00:00 EST\n');
    same(run('date', [`${MOUNT}/bin/date`, ...argv], { env }), native);
  });

  test('tput traced with the dumb terminal reads xterm-256color from the target, like native', () => {
    const script = (tput: string) => `${tput} -T xterm-256color colors && ${tput} -T xterm-256color setaf 1 | od -An -tx1`;
    const native = runOnHost(['/bin/sh', '-c', script('/usr/bin/tput')]);
    expect(native.stdout).toMatch(/^256\n.*1b/);
    same(run('tput', ['/bin/sh', '-c', script(`${MOUNT}/bin/tput`)]), native);
  });
});
