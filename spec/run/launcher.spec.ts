// The launcher of a bundle's entries, sidebundle-launch (native/nolibc): a static program with no
// C library that finds its entry from argv[0] and runs it in the bundle's run mode. These check
// how an entry is reached, the entry's spec and the errors, in a --run-mode host bundle (no
// runner, no root: other run modes refused with a message) and an ns bundle (bwrap through the
// runner).
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

import { launcherBinaryPath } from '../../lib/native/binding';
import { createBundle } from '../helpers/cli';
import { tempDir } from '../helpers/tmp';

jest.setTimeout(120_000);

const dir = tempDir('sb-host-runner-');
let bundle: string;
let nsBundle: string;

beforeAll(() => {
  bundle = createBundle(['--name', 'tools', '--out-dir', dir, '--from-host', '/usr/bin/jq', '--from-host', '/usr/bin/readlink', '--run-mode', 'host']).dir;
  nsBundle = createBundle(['--name', 'tools-ns', '--out-dir', dir, '--from-host', '/usr/bin/jq', '--run-mode', 'ns']).dir;
});

const run = (argv: string[], options: { env?: Record<string, string>; cwd?: string } = {}) =>
  spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', input: '{"a":[1,2]}', cwd: options.cwd ?? dir, env: { ...process.env, SIDEBUNDLE_RUN_MODE: '', ...options.env } });

test('entries link to sidebundle-launch, a static program without a loader or a C library', () => {
  const launcher = path.join(bundle, 'runtime/sidebundle-launch');
  expect(readFileSync(launcher).equals(readFileSync(launcherBinaryPath()!))).toBe(true);
  expect(readlinkSync(path.join(bundle, 'bin/jq'))).toBe('../runtime/sidebundle-launch');
  expect(readlinkSync(path.join(nsBundle, 'bin/jq'))).toBe('../runtime/sidebundle-launch');
  const headers = spawnSync('readelf', ['-lW', launcher], { encoding: 'utf8' }).stdout;
  expect(headers).toMatch(/Elf file type is EXEC/);
  expect(headers).not.toMatch(/INTERP|DYNAMIC/);
  // No glibc inside: its start-up code would name itself.
  expect(readFileSync(launcher).includes('GLIBC')).toBe(false);
});

test('an entry runs however it is reached: by path, through a link elsewhere, by name on PATH, from a path with spaces', () => {
  const native = spawnSync('/usr/bin/jq', ['-c', '.a'], { encoding: 'utf8', input: '{"a":[1,2]}' });
  expect(native.stdout).toBe('[1,2]\n');
  const want = { status: 0, stdout: native.stdout, stderr: '' };
  const pick = (r: ReturnType<typeof run>) => ({ status: r.status, stdout: r.stdout, stderr: r.stderr });
  expect(pick(run([path.join(bundle, 'bin/jq'), '-c', '.a']))).toEqual(want);
  const links = path.join(dir, 'links');
  mkdirSync(links, { recursive: true });
  symlinkSync(path.join(bundle, 'bin/jq'), path.join(links, 'my-jq'));
  expect(pick(run([path.join(links, 'my-jq'), '-c', '.a']))).toEqual(want);
  expect(pick(spawnSync('/bin/sh', ['-c', 'jq -c .a'], { encoding: 'utf8', input: '{"a":[1,2]}', env: { ...process.env, PATH: `/nonexistent:${path.join(bundle, 'bin')}` } }))).toEqual(want);
  const spaced = path.join(dir, 'a dir with spaces', 'tools');
  cpSync(bundle, spaced, { recursive: true, verbatimSymlinks: true });
  expect(pick(run([path.join(spaced, 'bin/jq'), '-c', '.a'], { cwd: '/' }))).toEqual(want);
  // The entry sees its own bundle.
  expect(run([path.join(spaced, 'bin/jq'), '-rn', 'env.SIDEBUNDLE_ROOT']).stdout).toBe(`${spaced}\n`);
});

test('another run mode is refused with a message, an unknown one named', () => {
  for (const mode of ['ns', 'chroot', 'bwrap']) {
    const r = run([path.join(bundle, 'bin/jq'), '-n', '1'], { env: { SIDEBUNDLE_RUN_MODE: mode } });
    expect({ status: r.status, stdout: r.stdout }).toEqual({ status: 126, stdout: '' });
    expect(r.stderr).toBe(`sidebundle: run mode ${mode} cannot start: this bundle was made for run mode host, and its launcher runs programs on the host only; bundle it again with --run-mode auto (or ${mode}) to have it\n`);
  }
  // auto may choose host: it runs, and says so when asked.
  const auto = run([path.join(bundle, 'bin/jq'), '-n', '1'], { env: { SIDEBUNDLE_RUN_MODE: 'auto', SIDEBUNDLE_DEBUG: '1' } });
  expect({ status: auto.status, stdout: auto.stdout, stderr: auto.stderr }).toEqual({ status: 0, stdout: '1\n', stderr: 'sidebundle: run mode auto: host (this bundle was made for run mode host)\n' });
  const bogus = run([path.join(bundle, 'bin/jq'), '-n', '1'], { env: { SIDEBUNDLE_RUN_MODE: 'fast' } });
  expect({ status: bogus.status, stderr: bogus.stderr }).toEqual({ status: 2, stderr: 'sidebundle: SIDEBUNDLE_RUN_MODE=fast is not one of auto, host, ns, chroot, bwrap\n' });
});

test('a damaged or incomplete bundle, a colon in its path, or the runner called by its own name: a clear error', () => {
  const copy = path.join(dir, 'damaged', 'tools');
  cpSync(bundle, copy, { recursive: true, verbatimSymlinks: true });
  writeFileSync(path.join(copy, 'runtime/entries/jq.json'), '{"mode": "host", "host": [');
  const damaged = run([path.join(copy, 'bin/jq'), '-n', '1']);
  expect({ status: damaged.status, stderr: damaged.stderr }).toEqual({ status: 127, stderr: expect.stringMatching(/^sidebundle: .*runtime\/entries\/jq\.json is damaged: .+\n$/) });
  rmSync(path.join(copy, 'runtime/entries/jq.json'));
  // Without its spec, bin/jq is no entry: the runner says what it was called as and where.
  const missing = run([path.join(copy, 'bin/jq'), '-n', '1']);
  expect({ status: missing.status, stderr: missing.stderr }).toEqual({ status: 127, stderr: `sidebundle: ${path.join(copy, 'bin/jq')} is not an entry of the bundle ${copy} (run bin/NAME, or a link to it)\n` });
  const coloned = path.join(dir, 'a:b', 'tools');
  cpSync(bundle, coloned, { recursive: true, verbatimSymlinks: true });
  const colon = run([path.join(coloned, 'bin/jq'), '-n', '1']);
  expect({ status: colon.status, stderr: colon.stderr }).toEqual({ status: 127, stderr: `sidebundle: the bundle path ${coloned} contains a colon, which the dynamic loader cannot take; move the bundle\n` });
  const itself = run([path.join(bundle, 'runtime/sidebundle-launch')]);
  expect({ status: itself.status, stderr: itself.stderr }).toEqual({ status: 2, stderr: "sidebundle: sidebundle-launch starts a bundle's entries: run bin/NAME of the bundle instead\n" });
  // A program the bundle lost: execve's error, named.
  const lost = path.join(dir, 'lost', 'tools');
  cpSync(bundle, lost, { recursive: true, verbatimSymlinks: true });
  const spec = JSON.parse(readFileSync(path.join(lost, 'runtime/entries/readlink.json'), 'utf8')) as { host: Array<{ b?: string }> };
  rmSync(path.join(lost, spec.host[0]!.b!));
  const gone = run([path.join(lost, 'bin/readlink'), '/']);
  expect({ status: gone.status, stderr: gone.stderr }).toEqual({ status: 127, stderr: `sidebundle: cannot run ${path.join(lost, spec.host[0]!.b!)}: No such file or directory (os error 2)\n` });
});

test('a caller that passes another argv[0] than the path it runs still reaches the entry (AT_EXECFN)', () => {
  // bash's `exec -a NAME PATH`: argv[0] is a bare name that is not on PATH, as execl(path, "name").
  for (const b of [bundle, nsBundle]) {
    const r = spawnSync('/bin/bash', ['-c', 'exec -a jq "$0" -n 5', path.join(b, 'bin/jq')], { encoding: 'utf8', env: { ...process.env, PATH: '/usr/bin:/bin', SIDEBUNDLE_RUN_MODE: '' } });
    expect({ status: r.status, stdout: r.stdout, stderr: r.stderr }).toEqual({ status: 0, stdout: '5\n', stderr: '' });
  }
});

test('a program that is there but cannot be executed exits 126, as in a shell', () => {
  const copy = path.join(dir, 'noexec', 'tools');
  cpSync(bundle, copy, { recursive: true, verbatimSymlinks: true });
  const spec = JSON.parse(readFileSync(path.join(copy, 'runtime/entries/jq.json'), 'utf8')) as { host: Array<{ b?: string }> };
  chmodSync(path.join(copy, spec.host[0]!.b!), 0o644);
  const r = run([path.join(copy, 'bin/jq'), '-n', '1']);
  expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 126, stderr: `sidebundle: cannot run ${path.join(copy, spec.host[0]!.b!)}: Permission denied (os error 13)\n` });
});

test('in an ns bundle, run mode bwrap goes through the runner (runtime/sidebundle-run)', () => {
  const r = run([path.join(nsBundle, 'bin/jq'), '-n', '[1,2] | length'], { env: { SIDEBUNDLE_RUN_MODE: 'bwrap' } });
  expect({ status: r.status, stdout: r.stdout, stderr: r.stderr }).toEqual({ status: 0, stdout: '2\n', stderr: '' });
  // Without the runner: a clear error.
  const copy = path.join(dir, 'no-runner', 'tools-ns');
  cpSync(nsBundle, copy, { recursive: true, verbatimSymlinks: true });
  rmSync(path.join(copy, 'runtime/sidebundle-run'));
  const missing = run([path.join(copy, 'bin/jq'), '-n', '1'], { env: { SIDEBUNDLE_RUN_MODE: 'bwrap' } });
  expect({ status: missing.status, stderr: missing.stderr }).toEqual({ status: 126, stderr: expect.stringContaining('run mode bwrap cannot start: the bundle has no runtime/sidebundle-run') });
});
