// Run modes: the payload as the root filesystem. One bundle of programs that open absolute
// paths compiled into them (file's magic database, Python's stdlib, Perl's @INC, git's
// templates and exec-path) plus busybox as a multi-call entry, run inside the bare and the
// bullseye roots (entered with bwrap, so user namespaces can be created inside) in ns and auto
// mode: each prints exactly what the native program prints on this machine. Host mode is
// pinned. bwrap and chroot modes on this machine; auto falls back where user namespaces are
// off, and ns says why it cannot start.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

import { bareRootfs, bullseyeRootfs } from '../fixtures/rootfs';
import { runInRoot, runOnHost, type RunResult } from '../fixtures/run-in-root';
import { createBundle } from '../helpers/cli';
import { tempDir } from '../helpers/tmp';

jest.setTimeout(600_000);

const dir = tempDir('sb-modes-');
const work = path.join(dir, 'work'); // bound at the same path inside the roots
mkdirSync(work);
const PNG = path.join(work, 'pixel.png');
// The PNG signature and IHDR chunk of a 1x1 RGBA image: what `file` reads to classify it.
writeFileSync(PNG, Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489', 'hex'));
const PY = "import json, decimal, textwrap, signal, time; print(json.dumps({'sum': str(decimal.Decimal('1.1') + decimal.Decimal('2.2'))}), textwrap.shorten('the quick brown fox', 12))";
const PERL = ['-MPOSIX', '-MList::Util=sum', '-e', 'print sum(1..10), q(:), POSIX::floor(2.7), q(:), POSIX::strftime(q(%Y), gmtime(0)), qq(\\n)'];
const GIT_SCRIPT = (git: string, repo: string) =>
  `${git} init -q ${repo} && ${git} -C ${repo} -c user.name=t -c user.email=t@example.com commit -q --allow-empty -m first && ${git} -C ${repo} log --format=%s`;
const MOUNT = '/tmp/bundle';

const quote = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;
let bundle: string;

beforeAll(() => {
  const gitTrace = path.join(dir, 'git-trace');
  bundle = createBundle([
    '--name', 'tools', '--out-dir', path.join(dir, 'out'),
    '--from-host', `/usr/bin/file::trace=/usr/bin/file -b ${PNG}`,
    '--from-host', `/usr/bin/python3::trace=/usr/bin/python3 -c ${quote(PY)}`,
    '--from-host', `/usr/bin/perl::trace=/usr/bin/perl ${PERL.map(quote).join(' ')}`,
    '--from-host', `/usr/bin/git::trace=/bin/sh -c ${quote(GIT_SCRIPT('/usr/bin/git', gitTrace))}`,
    '--from-host', '/bin/busybox',
  ]).dir;
  // busybox dispatches on argv[0]: an applet name linked to its launcher.
  symlinkSync('busybox', path.join(bundle, 'bin/sha256sum'));
});

interface Case {
  name: string;
  /** Arguments after the program. */
  args: string[];
}

const cases: Case[] = [
  { name: 'file', args: ['-b', PNG] },
  { name: 'python3', args: ['-c', PY] },
  { name: 'perl', args: PERL },
  { name: 'sha256sum', args: [PNG] },
  { name: 'busybox', args: ['basename', '/a/b/c.txt', '.txt'] },
];
const native: Record<string, string[]> = { file: ['/usr/bin/file'], python3: ['/usr/bin/python3'], perl: ['/usr/bin/perl'], sha256sum: ['/bin/busybox', 'sha256sum'], busybox: ['/bin/busybox'] };

function nativeOutput(c: Case): string {
  const r = runOnHost([...native[c.name]!, ...c.args]);
  expect(r.status).toBe(0);
  return r.stdout;
}

/** git init + commit + log in a fresh repository; the output and the hooks the template gave. */
function gitOutcome(run: (repo: string) => RunResult, repo: string): { stdout: string; status: number | null; hooks: string[] } {
  rmSync(repo, { recursive: true, force: true });
  const r = run(repo);
  let hooks: string[] = [];
  try {
    hooks = readdirSync(path.join(repo, '.git/hooks')).sort();
  } catch {
    // no repository
  }
  return { stdout: r.stdout, status: r.status, hooks };
}

const roots: Array<[string, () => string]> = [['bare', bareRootfs], ['bullseye', bullseyeRootfs]];

function inRoot(root: string, mode: string, argv: string[], extra: { userns?: boolean } = {}): RunResult {
  return runInRoot(root, argv, {
    binds: { [bundle]: MOUNT },
    rwBinds: { [work]: work },
    env: { SIDEBUNDLE_RUN_MODE: mode, SIDEBUNDLE_DEBUG: '1' },
    ...extra,
  });
}

describe.each(roots)('in the %s root', (_label, rootOf) => {
  test.each(['ns', 'auto'])('mode %s: every program prints what it prints natively', (mode) => {
    const root = rootOf();
    for (const c of cases) {
      const r = inRoot(root, mode, [`${MOUNT}/bin/${c.name}`, ...c.args]);
      expect({ name: c.name, stdout: r.stdout, status: r.status }).toEqual({ name: c.name, stdout: nativeOutput(c), status: 0 });
      if (mode === 'auto') expect(r.stderr).toContain('run mode auto: ns');
    }
    const expected = gitOutcome((repo) => runOnHost(['/bin/sh', '-c', GIT_SCRIPT('/usr/bin/git', repo)]), path.join(work, 'native-repo'));
    const bundled = gitOutcome((repo) => inRoot(root, mode, ['/bin/sh', '-c', GIT_SCRIPT(`${MOUNT}/bin/git`, repo)]), path.join(work, `repo-${_label}-${mode}`));
    expect(expected.hooks.length).toBeGreaterThan(0);
    expect(bundled).toEqual(expected);
  });
});

test('host mode: the set that works is pinned', () => {
  const root = bullseyeRootfs();
  const outcome: Record<string, boolean> = {};
  for (const c of cases) {
    const r = inRoot(root, 'host', [`${MOUNT}/bin/${c.name}`, ...c.args]);
    outcome[c.name] = r.status === 0 && r.stdout === nativeOutput(c);
  }
  const expected = gitOutcome((repo) => runOnHost(['/bin/sh', '-c', GIT_SCRIPT('/usr/bin/git', repo)]), path.join(work, 'native-repo'));
  const bundled = gitOutcome((repo) => inRoot(root, 'host', ['/bin/sh', '-c', GIT_SCRIPT(`${MOUNT}/bin/git`, repo)]), path.join(work, 'repo-host'));
  outcome.git = bundled.status === 0 && bundled.stdout === expected.stdout && bundled.hooks.join() === expected.hooks.join();
  // Host mode points each program at its payload with environment variables (MAGIC,
  // PYTHONHOME, PERL5LIB, GIT_EXEC_PATH, GIT_TEMPLATE_DIR); these are the programs for which
  // that is enough today. A change that breaks one fails here.
  expect(outcome).toEqual({ file: true, python3: true, perl: true, sha256sum: true, busybox: true, git: true });
});

describe('on this machine', () => {
  const onHost = (mode: string, argv: string[], options: { cwd?: string; input?: string; env?: Record<string, string> } = {}) =>
    runOnHost(argv, { ...options, env: { SIDEBUNDLE_RUN_MODE: mode, ...options.env } });
  const modes = ['host', 'ns', 'bwrap', ...(process.getuid?.() === 0 ? ['chroot'] : [])];

  test.each(modes)('mode %s: outputs, exit status, stdin, cwd and environment pass through', (mode) => {
    for (const c of cases) {
      const r = onHost(mode, [path.join(bundle, 'bin', c.name), ...c.args]);
      expect({ name: c.name, stdout: r.stdout, status: r.status }).toEqual({ name: c.name, stdout: nativeOutput(c), status: 0 });
    }
    const code = 'import os, sys; print(os.getcwd(), os.environ.get("SB_PROBE"), sys.stdin.read().strip(), open("rel.txt").read()); sys.exit(7)';
    writeFileSync(path.join(work, 'rel.txt'), 'relative');
    const r = onHost(mode, [path.join(bundle, 'bin/python3'), '-c', code], { cwd: work, input: 'from stdin', env: { SB_PROBE: 'kept' } });
    expect({ stdout: r.stdout, status: r.status }).toEqual({ stdout: `${work} kept from stdin relative\n`, status: 7 });
  });

  test.each(modes)('mode %s: SIGTERM to the launcher reaches the program', async (mode) => {
    const child = spawn(path.join(bundle, 'bin/python3'), ['-c', 'import signal, sys, time\nsignal.signal(signal.SIGTERM, lambda *a: (print("got SIGTERM", flush=True), sys.exit(3)))\nprint("ready", flush=True)\ntime.sleep(60)'], {
      env: { ...process.env, SIDEBUNDLE_RUN_MODE: mode },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('ready\n')) setTimeout(resolve, 100); // the program is asleep by then
      });
      child.on('close', () => resolve());
    });
    child.kill('SIGTERM');
    const status = await new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    expect({ out, status, err }).toEqual({ out: 'ready\ngot SIGTERM\n', status: 3, err: '' });
  });

  test('a bad SIDEBUNDLE_RUN_MODE is a clear error', () => {
    const r = onHost('sideways', [path.join(bundle, 'bin/busybox'), 'true']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/SIDEBUNDLE_RUN_MODE=sideways is not one of auto, host, ns, chroot, bwrap/);
  });

  test('bwrap mode without bubblewrap says what to install', () => {
    const r = onHost('bwrap', [path.join(bundle, 'bin/busybox'), 'true'], { env: { PATH: '/nonexistent' } });
    expect(r.status).toBe(127);
    expect(r.stderr).toMatch(/needs bubblewrap/);
  });
});

describe('where user namespaces are off', () => {
  test('auto falls back to host mode and says why under SIDEBUNDLE_DEBUG', () => {
    const c = cases.find((x) => x.name === 'python3')!;
    const r = inRoot(bullseyeRootfs(), 'auto', [`${MOUNT}/bin/python3`, ...c.args], { userns: false });
    expect({ stdout: r.stdout, status: r.status }).toEqual({ stdout: nativeOutput(c), status: 0 });
    expect(r.stderr).toMatch(/run mode auto: host \(unshare\(CLONE_NEWUSER\|CLONE_NEWNS\): /);
  });

  test("in host mode Python's sys.executable is its launcher: a subprocess of it is the bundled Python again, not the target's", () => {
    const code = 'import subprocess, sys; print(sys.executable, flush=True); subprocess.run([sys.executable, "-c", "import sys; print(sys.version_info[:2])"], check=True)';
    const r = inRoot(bullseyeRootfs(), 'auto', [`${MOUNT}/bin/python3`, '-c', code], { userns: false });
    const version = execFileSync('/usr/bin/python3', ['-c', 'import sys; print(sys.version_info[:2])'], { encoding: 'utf8' });
    expect({ stdout: r.stdout, status: r.status }).toEqual({ stdout: `${MOUNT}/bin/python3\n${version}`, status: 0 });
  });

  test('ns fails with a message that names the cause and the way out', () => {
    const r = inRoot(bareRootfs(), 'ns', [`${MOUNT}/bin/busybox`, 'true'], { userns: false });
    expect(r.status).toBe(126);
    expect(r.stderr).toMatch(/run mode ns cannot start: unshare\(CLONE_NEWUSER\|CLONE_NEWNS\): .*user namespaces are disabled here.*SIDEBUNDLE_RUN_MODE=host/);
  });
});

// setpriv drops root's capabilities; only root can, so other users skip this visibly.
(process.getuid?.() === 0 ? test : test.skip)('chroot mode without privileges names the capability', () => {
  const r = runOnHost(['setpriv', '--inh-caps=-all', '--bounding-set=-all', path.join(bundle, 'bin/busybox'), 'true'], { env: { SIDEBUNDLE_RUN_MODE: 'chroot' } });
  expect(r.status).toBe(126);
  expect(r.stderr).toMatch(/run mode chroot cannot start: chroot needs CAP_SYS_CHROOT/);
});

