// The root modes' holder (native/src/launch/holder.rs): a second process keeps the launch's
// namespaces until the program has exited, so that their teardown does not delay the caller.
// It must leave nothing behind, be no child the program waits for, and change nothing of the
// program's exit status, death by a signal or process-group signals.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import * as path from 'node:path';

import { createBundle } from '../helpers/cli';
import { tempDir } from '../helpers/tmp';

jest.setTimeout(300_000);

const dir = tempDir('sb-holder-');
const PY = 'import os, signal, sys, time';
let python: string;

beforeAll(() => {
  const bundle = createBundle(['--name', 'held', '--out-dir', path.join(dir, 'out'), '--run-mode', 'ns', '--from-host', `/usr/bin/python3::trace=/usr/bin/python3 -c '${PY}'`]).dir;
  python = path.join(bundle, 'bin/python3');
});

/** The processes whose mount namespace is `ns`, with their parents. */
function inNamespace(ns: string): Array<{ pid: number; ppid: number }> {
  const found: Array<{ pid: number; ppid: number }> = [];
  for (const name of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      if (readlinkSync(`/proc/${name}/ns/mnt`) !== ns) continue;
      const ppid = Number(/^PPid:\s+(\d+)/m.exec(readFileSync(`/proc/${name}/status`, 'utf8'))![1]);
      found.push({ pid: Number(name), ppid });
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

async function until<T>(probe: () => T, done: (value: T) => boolean, ms: number): Promise<T> {
  const end = Date.now() + ms;
  let value = probe();
  while (!done(value) && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 20));
    value = probe();
  }
  return value;
}

const modes = ['ns', ...(process.getuid?.() === 0 ? ['chroot'] : [])];

describe.each(modes)('mode %s', (mode) => {
  const env = { ...process.env, SIDEBUNDLE_RUN_MODE: mode };

  test('one holder shares the namespaces while the program runs; nothing is left after it exits', async () => {
    const child = spawn(python, ['-c', `${PY}\nprint("ready", flush=True)\nsys.stdin.read()`], { env, stdio: ['pipe', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => child.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && resolve()));
    const ns = readlinkSync(`/proc/${child.pid}/ns/mnt`);
    expect(ns).not.toBe(readlinkSync('/proc/self/ns/mnt'));
    const during = inNamespace(ns);
    // The program and one holder, whose parent is the program.
    expect(during.map((p) => (p.pid === child.pid ? 'program' : p.ppid === child.pid ? 'holder' : `other ${p.pid}`)).sort()).toEqual(['holder', 'program']);
    const closed = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    child.stdin.end();
    expect(await closed).toBe(0);
    expect(await until(() => inNamespace(ns), (left) => left.length === 0, 5000)).toEqual([]);
  });

  test('the holder is no child the program waits for', () => {
    const code = `${PY}\nfor wait in (os.wait, lambda: os.waitid(os.P_ALL, 0, os.WEXITED)):\n  try:\n    print(wait())\n  except ChildProcessError:\n    print("no child")`;
    const r = spawnSync(python, ['-c', code], { env, encoding: 'utf8', timeout: 60_000 });
    expect({ stdout: r.stdout, status: r.status }).toEqual({ stdout: 'no child\nno child\n', status: 0 });
  });

  test('exit status and death by a signal are the program\'s', () => {
    expect(spawnSync(python, ['-c', `${PY}\nsys.exit(5)`], { env }).status).toBe(5);
    const killed = spawnSync(python, ['-c', `${PY}\nos.kill(os.getpid(), signal.SIGKILL)`], { env });
    expect({ status: killed.status, signal: killed.signal }).toEqual({ status: null, signal: 'SIGKILL' });
  });

  test('a signal to the process group ends the program, and the holder with it', async () => {
    // Its own process group, as a shell's job: SIGINT reaches every process in it.
    const child = spawn(python, ['-c', `${PY}\nsignal.signal(signal.SIGINT, signal.SIG_DFL)\nprint("ready", flush=True)\ntime.sleep(60)`], { env, stdio: ['ignore', 'pipe', 'inherit'], detached: true });
    await new Promise<void>((resolve) => child.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && resolve()));
    const ns = readlinkSync(`/proc/${child.pid}/ns/mnt`);
    expect(inNamespace(ns)).toHaveLength(2);
    const closed = new Promise<NodeJS.Signals | null>((resolve) => child.on('close', (_code, signal) => resolve(signal)));
    process.kill(-child.pid!, 'SIGINT');
    expect(await closed).toBe('SIGINT');
    expect(await until(() => inNamespace(ns), (left) => left.length === 0, 5000)).toEqual([]);
  });
});
