// The root run modes lay the payload over the target's file system (issue 15, part 4): a
// bundle whose payload has /opt, /etc and /usr still reads the target's /opt files, its /etc
// files, its time zones and terminal descriptions, and the target's CA store wins; the loader's
// directories stay the payload's. Checked against host mode and the native programs on this
// machine (ns with overlays and with the bind fallback, chroot, bwrap) and inside the bullseye
// root (ns, auto). Also: every mode dies of the signal that killed the program (bwrap too).
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

import { bullseyeRootfs } from '../fixtures/rootfs';
import { runInRoot, runOnHost, type RunResult } from '../fixtures/run-in-root';
import { createBundle } from '../helpers/cli';
import { tempDir } from '../helpers/tmp';

jest.setTimeout(600_000);

const dir = tempDir('sb-target-');
const toolData = path.join(dir, 'tooldata');
mkdirSync(toolData);
writeFileSync(path.join(toolData, 't.json'), '{"tool":1}\n');
// A CA store of the payload's own: the target's must replace it.
const payloadCerts = path.join(dir, 'certs');
mkdirSync(payloadCerts);
writeFileSync(path.join(payloadCerts, 'payload-only.pem'), 'not a certificate\n');
const MOUNT = '/tmp/bundle';
const isRoot = process.getuid?.() === 0;

let bundle: string;

beforeAll(() => {
  bundle = createBundle([
    '--name', 'over', '--out-dir', path.join(dir, 'out'),
    '--from-host', '/usr/bin/cat', '--from-host', '/usr/bin/date', '--from-host', '/usr/bin/tput', '--from-host', '/usr/bin/ls',
    '--from-host', '/bin/sh',
    '--copy-dir', `${toolData}:/opt/tooldata`,
    '--copy-dir', `${payloadCerts}:/etc/ssl/certs`,
  ]).dir;
  // Preconditions: the payload shares /opt, /etc and /usr with every target, and has neither
  // time zones nor terminfo of its own (else the tests below prove nothing).
  for (const top of ['opt', 'etc', 'usr']) expect(existsSync(path.join(bundle, 'payload', top))).toBe(true);
  expect(existsSync(path.join(bundle, 'payload/usr/share/zoneinfo/America/New_York'))).toBe(false);
  for (const d of ['usr/share/terminfo', 'lib/terminfo', 'usr/lib/terminfo', 'etc/terminfo']) expect(existsSync(path.join(bundle, 'payload', d, 'x/xterm'))).toBe(false);
});

const bin = (name: string) => path.join(bundle, 'bin', name);

/** What one program prints, as compared between a bundled and a native run. */
const outcome = (r: RunResult) => ({ stdout: r.stdout, status: r.status });

interface Probe {
  what: string;
  /** The bundled entry and its arguments (the native program is /usr/bin/NAME). */
  argv: string[];
  env?: Record<string, string>;
}

const probes = (userFile: string): Probe[] => [
  { what: 'a target file under the payload\'s /opt', argv: ['cat', userFile] },
  { what: 'a target /etc file the payload lacks', argv: ['cat', '/etc/debian_version'] },
  { what: 'time zones (TZ)', argv: ['date', '-d', '@0', '+%Y-%m-%d %H:%M %Z'], env: { TZ: 'America/New_York' } },
  { what: 'terminfo (TERM)', argv: ['tput', 'longname'], env: { TERM: 'xterm' } },
];

describe('on this machine', () => {
  // A file of the target's under /opt, which the payload also has (/opt/tooldata).
  const userDir = isRoot ? mkdtempSync('/opt/sb-userdata-') : '';
  const userFile = path.join(userDir, 'x.json');
  if (isRoot) writeFileSync(userFile, '{"user":1}\n');
  afterAll(() => {
    if (isRoot) rmSync(userDir, { recursive: true, force: true });
  });
  const rootModes: Array<[string, Record<string, string>]> = [
    ['ns', {}],
    ['ns', { SIDEBUNDLE_OVERLAY: '0' }],
    ['bwrap', {}],
    ...(isRoot ? ([['chroot', {}]] as Array<[string, Record<string, string>]>) : []),
  ];
  const run = (mode: string, argv: string[], env: Record<string, string> = {}) => runOnHost([bin(argv[0]!), ...argv.slice(1)], { env: { SIDEBUNDLE_RUN_MODE: mode, ...env } });

  (isRoot ? test.each(rootModes) : test.skip.each(rootModes))('mode %s %j: the target stays visible, as in host mode and natively', (mode, extra) => {
    for (const p of probes(userFile)) {
      const native = runOnHost([`/usr/bin/${p.argv[0]}`, ...p.argv.slice(1)], { env: p.env });
      expect(native.status).toBe(0);
      expect({ what: p.what, ...outcome(run(mode, p.argv, { ...p.env, ...extra })) }).toEqual({ what: p.what, ...outcome(native) });
      expect({ what: p.what, ...outcome(run('host', p.argv, p.env)) }).toEqual({ what: p.what, ...outcome(native) });
    }
    // The payload's own files are there too, over the target's.
    expect(run(mode, ['cat', '/opt/tooldata/t.json'], extra).stdout).toBe('{"tool":1}\n');
  });

  test.each(rootModes)('mode %s %j: the target\'s CA store wins; the loader\'s directories stay the payload\'s', (mode, extra) => {
    const targetCerts = readdirSync('/etc/ssl/certs').sort();
    expect(targetCerts.length).toBeGreaterThan(0); // precondition: this machine has a CA store
    const listed = run(mode, ['ls', '-1', '/etc/ssl/certs'], extra);
    expect(listed.stdout.split('\n').filter(Boolean).sort()).toEqual(targetCerts);
    // A library of the target's the payload lacks is not found where the loader looks.
    const lib = '/usr/lib/x86_64-linux-gnu/libjq.so.1';
    expect(existsSync(lib)).toBe(true);
    expect(existsSync(path.join(bundle, 'payload', lib))).toBe(false);
    expect(run(mode, ['ls', lib], extra).status).not.toBe(0);
    expect(run('host', ['ls', lib]).status).toBe(0);
  });

  test('mode ns: the root lies on the machine\'s own root where the payload\'s top level fits it, on a tmpfs where the payload brings a name the machine lacks', () => {
    const debug = { SIDEBUNDLE_DEBUG: '1' };
    const listing = (r: RunResult) => r.stdout.split('\n').filter(Boolean).sort();
    const machine = readdirSync('/').sort();
    const onHostRoot = run('ns', ['ls', '-1A', '/'], debug);
    expect(onHostRoot.stderr).toMatch(/root: overlays on \/etc \/opt \/usr \(\d+ binds\), on the host's root/);
    expect(listing(onHostRoot)).toEqual(machine);
    const binds = run('ns', ['ls', '-1A', '/'], { ...debug, SIDEBUNDLE_OVERLAY: '0' });
    expect(binds.stderr).toMatch(/root: binds only \(\d+ binds\), on a tmpfs/);
    expect(listing(binds)).toEqual(machine);
    // A top-level directory of the payload's that the machine lacks: the tmpfs floor, with every
    // name of the machine's beside it.
    const top = `sb-new-top-${process.pid}`;
    expect(existsSync(`/${top}`)).toBe(false);
    const other = createBundle(['--name', 'newtop', '--out-dir', path.join(dir, 'out'), '--from-host', '/usr/bin/cat', '--from-host', '/usr/bin/ls', '--copy-dir', `${toolData}:/${top}/tooldata`]).dir;
    const env = { SIDEBUNDLE_RUN_MODE: 'ns', ...debug };
    const read = runOnHost([path.join(other, 'bin/cat'), `/${top}/tooldata/t.json`, '/etc/debian_version'], { env });
    expect(read).toMatchObject({ status: 0, stdout: `{"tool":1}\n${readFileSync('/etc/debian_version', 'utf8')}` });
    expect(read.stderr).toMatch(/root: overlays on \/etc \/usr \(\d+ binds\), on a tmpfs/);
    expect(listing(runOnHost([path.join(other, 'bin/ls'), '-1A', '/'], { env }))).toEqual([...machine, top].sort());
  });

  const signalModes = ['host', 'ns', 'bwrap', ...(isRoot ? ['chroot'] : [])];
  test.each(signalModes)('mode %s: a program killed by a signal kills the launcher with it; exit 143 stays an exit', (mode) => {
    expect(runOnHost(['/bin/sh', '-c', 'kill -TERM $$'])).toMatchObject({ status: null, signal: 'SIGTERM' });
    expect(run(mode, ['sh', '-c', 'kill -TERM $$'])).toMatchObject({ status: null, signal: 'SIGTERM' });
    expect(run(mode, ['sh', '-c', 'kill -HUP $$'])).toMatchObject({ status: null, signal: 'SIGHUP' });
    expect(run(mode, ['sh', '-c', 'exit 143'])).toMatchObject({ status: 143, signal: null });
  });
});

describe('in the bullseye root', () => {
  // The target's /opt holds userdata/x.json (a directory of ours bound there).
  const targetOpt = path.join(dir, 'target-opt');
  mkdirSync(path.join(targetOpt, 'userdata'), { recursive: true });
  writeFileSync(path.join(targetOpt, 'userdata/x.json'), '{"user":"bullseye"}\n');
  const inRoot = (argv: string[], env: Record<string, string>) =>
    runInRoot(bullseyeRootfs(), argv, { binds: { [bundle]: MOUNT, [targetOpt]: '/opt' }, env: { SIDEBUNDLE_DEBUG: '1', ...env } });

  test.each([['ns', {}], ['auto', {}], ['ns', { SIDEBUNDLE_OVERLAY: '0' }]])('mode %s %j: the target stays visible, as natively there', (mode, extra: Record<string, string>) => {
    for (const p of probes('/opt/userdata/x.json')) {
      const native = inRoot([`/usr/bin/${p.argv[0]}`, ...p.argv.slice(1)], p.env ?? {});
      expect(native.status).toBe(0);
      const bundled = inRoot([`${MOUNT}/bin/${p.argv[0]}`, ...p.argv.slice(1)], { SIDEBUNDLE_RUN_MODE: mode, ...p.env, ...extra });
      expect({ what: p.what, ...outcome(bundled) }).toEqual({ what: p.what, ...outcome(native) });
      if (mode === 'auto') expect(bundled.stderr).toContain('run mode auto: ns');
      // The mechanism under test: overlays by default, binds only when they are off.
      expect(bundled.stderr).toMatch(extra.SIDEBUNDLE_OVERLAY === '0' ? /root: binds only/ : /root: overlays on \/etc \/opt \/usr/);
    }
  });
});
