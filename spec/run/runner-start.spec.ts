// The launcher's own start-up (native/nolibc/src/bin/launch.rs: no C library, its own _start):
// what of a C program's start-up a launch relied on still happens. A descriptor 0-2 the
// caller closed reaches the program open on /dev/null, in every mode the runner execs in, and
// the program gets its arguments and exit status through, and the caller's signal dispositions
// (the runner ignored SIGPIPE, as Rust's start-up does, and the program inherited that).
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

import { createBundle } from '../helpers/cli';
import { tempDir } from '../helpers/tmp';

jest.setTimeout(120_000);

const dir = tempDir('sb-runner-start-');
const bins: Record<string, string> = {};

beforeAll(() => {
  const programs = ['--from-host', '/usr/bin/readlink', '--from-host', '/usr/bin/yes', '--from-host', '/usr/bin/grep'];
  bins.ns = path.join(createBundle(['--name', 'start', '--out-dir', dir, ...programs, '--run-mode', 'ns']).dir, 'bin');
  bins.host = path.join(createBundle(['--name', 'start-host', '--out-dir', dir, ...programs, '--run-mode', 'host']).dir, 'bin');
});

// The ns bundle's launcher in ns and in host mode, and a host-mode bundle's.
describe.each([
  ['ns', 'ns', 'ns'],
  ['host', 'ns', 'host'],
  ['host, in a --run-mode host bundle', 'host', ''],
])('run mode %s', (_label, bundle, mode) => {
  const bin = () => bins[bundle]!;
  /** `sh -c SCRIPT` with $0 the bundle's readlink. */
  const sh = (script: string, runMode: string) => spawnSync('/bin/sh', ['-c', script, path.join(bin(), 'readlink')], { encoding: 'utf8', env: { ...process.env, SIDEBUNDLE_RUN_MODE: runMode } });
  test('a closed stdin or stderr is open on /dev/null for the program', () => {
    // The precondition: natively, the closed descriptor is not there.
    expect(spawnSync('/bin/sh', ['-c', 'exec /usr/bin/readlink /proc/self/fd/0 <&-']).status).not.toBe(0);
    const stdin = sh('exec "$0" /proc/self/fd/0 <&-', mode);
    expect(stdin).toMatchObject({ status: 0, stdout: '/dev/null\n' });
    const stderr = sh('exec "$0" /proc/self/fd/2 2>&-', mode);
    expect(stderr).toMatchObject({ status: 0, stdout: '/dev/null\n' });
  });

  test('the program gets the caller\'s signal dispositions: a writer to a closed pipe ends by SIGPIPE as natively', () => {
    const env = { ...process.env, SIDEBUNDLE_RUN_MODE: mode };
    const piped = (yes: string) => spawnSync('/bin/bash', ['-c', '"$0" | head -1; echo "status ${PIPESTATUS[0]}"', yes], { encoding: 'utf8', env });
    const native = piped('/usr/bin/yes');
    expect(native).toMatchObject({ stdout: 'y\nstatus 141\n', stderr: '' });
    expect(piped(path.join(bin(), 'yes'))).toMatchObject({ stdout: native.stdout, stderr: '' });
    // Every disposition, as /proc says: none ignored by the runner, and one the caller ignores
    // (SIGINT, through `trap '' INT`) still ignored.
    const ignored = (grep: string) => spawnSync('/bin/bash', ['-c', 'trap "" INT; "$0" ^SigIgn /proc/self/status', grep], { encoding: 'utf8', env }).stdout;
    expect(ignored('/usr/bin/grep')).toMatch(/^SigIgn:\s+0+2\n$/);
    expect(ignored(path.join(bin(), 'grep'))).toBe(ignored('/usr/bin/grep'));
  });

  test('open descriptors, arguments and the exit status pass through', () => {
    const native = spawnSync('/usr/bin/readlink', ['-n', '--', '/proc/self/fd/0', '/nonexistent'], { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
    const bundled = spawnSync(path.join(bin(), 'readlink'), ['-n', '--', '/proc/self/fd/0', '/nonexistent'], { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, SIDEBUNDLE_RUN_MODE: mode } });
    // Node's pipes are socket pairs: the same kind of descriptor, not /dev/null.
    expect(native.stdout).toMatch(/^socket:\[\d+\]\n$/);
    expect(bundled.status).toBe(native.status);
    expect(bundled.status).not.toBe(0);
    expect(bundled.stdout).toMatch(/^socket:\[\d+\]\n$/);
  });
});
