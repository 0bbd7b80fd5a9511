// `sidebundle doctor` against real machines: fixture roots judged from outside (--root), and the
// doctor itself run in sandboxes that take away /proc or user namespaces. Each verdict is set
// beside an oracle: what really happens when the program or the bundle runs there.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync } from 'node:fs';
import * as path from 'node:path';

import { bareRootfs, bullseyeRootfs } from '../fixtures/rootfs';
import { runInRoot } from '../fixtures/run-in-root';
import { compile } from '../helpers/cc';
import { cliPath, createBundle, runCli } from '../helpers/cli';
import { tempDir } from '../helpers/tmp';

interface Verdicts { verdict: string; checks: Array<{ id: string; verdict: string; detail: string }> }
const doctor = (args: string[]) => {
  const run = runCli(['doctor', ...args, '--json']);
  return { status: run.status, ...(JSON.parse(run.stdout) as Verdicts) };
};
const byId = (v: Verdicts, id: string) => v.checks.find((c) => c.id === id || c.id.startsWith(`${id}:`));

/** A root holding a program built here (glibc 2.36) and, optionally, bullseye's glibc 2.31. */
function rootWith(glibcFrom?: string): string {
  const root = tempDir('sb-doctor-root-');
  for (const dir of ['usr/bin', 'proc', 'dev', 'tmp']) mkdirSync(path.join(root, dir), { recursive: true });
  compile(path.join(root, 'usr/bin/hello'), '#include <stdio.h>\nint main(void) { puts("hello"); return 0; }\n');
  if (glibcFrom) {
    mkdirSync(path.join(root, 'lib/x86_64-linux-gnu'), { recursive: true });
    mkdirSync(path.join(root, 'lib64'));
    copyFileSync(path.join(glibcFrom, 'usr/lib/x86_64-linux-gnu/libc.so.6'), path.join(root, 'lib/x86_64-linux-gnu/libc.so.6'));
    copyFileSync(path.join(glibcFrom, 'usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2'), path.join(root, 'lib64/ld-linux-x86-64.so.2'));
  }
  return root;
}

describe('doctor on a plain program', () => {
  it('passes a program this machine runs', () => {
    const v = doctor(['/usr/bin/jq']);
    expect(v.status).toBe(0);
    expect(v.checks.map((c) => c.id)).toEqual(['interpreter', 'needed', 'versions']);
  });

  it('names GLIBC_2.34 and the file that needs it where glibc is 2.31, as ld.so does', () => {
    const root = rootWith(bullseyeRootfs());
    const oracle = runInRoot(root, ['/usr/bin/hello']);
    expect(oracle.status).not.toBe(0);
    expect(oracle.stderr).toContain("version `GLIBC_2.34' not found (required by /usr/bin/hello)");
    const v = doctor(['--root', root, '/usr/bin/hello']);
    expect(v.status).toBe(1);
    expect(byId(v, 'version:/usr/bin/hello')?.detail).toContain("version `GLIBC_2.34' not found (required by /usr/bin/hello)");
    expect(byId(v, 'interpreter')?.verdict).toBe('ok');
  });

  it('fails on a missing loader in the bare root (busybox only, no libc), and passes busybox itself', () => {
    const bare = bareRootfs();
    expect(doctor(['--root', bare, '/bin/busybox'])).toMatchObject({ status: 0, checks: [{ id: 'interpreter', verdict: 'ok' }] });
    const root = rootWith();
    const oracle = spawnSync('bwrap', ['--ro-bind', root, '/', '--ro-bind', path.join(bare, 'bin'), '/bin', '--proc', '/proc', '--dev', '/dev', '/usr/bin/hello'], { encoding: 'utf8' });
    expect(oracle.status).not.toBe(0);
    const v = doctor(['--root', root, '/usr/bin/hello']);
    expect(v.status).toBe(1);
    expect(byId(v, 'interpreter')).toMatchObject({ verdict: 'fail', detail: expect.stringContaining('/lib64/ld-linux-x86-64.so.2') });
  });
});

describe('doctor on a bundle', () => {
  const work = tempDir('sb-doctor-');
  const bundle = createBundle(['--name', 'jq', '--from-host', '/usr/bin/jq', '--out-dir', work]);
  const launcher = path.join(bundle.dir, 'bin/jq');
  const node = process.execPath;
  /** The doctor, and the bundle, inside a bwrap sandbox on this machine's own files. */
  const sandboxed = (extra: string[], argv: string[], env: Record<string, string> = {}) =>
    spawnSync('bwrap', ['--ro-bind', '/', '/', '--dev', '/dev', '--bind', work, work, ...extra, '--', ...argv], { encoding: 'utf8', env: { ...process.env, ...env } });

  it('passes where the bundle runs', () => {
    expect(execFileSync(launcher, ['-n', '1+1'], { encoding: 'utf8' }).trim()).toBe('2');
    const v = doctor([bundle.dir]);
    expect(v.status).toBe(0);
    expect(v.checks.filter((c) => c.verdict !== 'ok')).toEqual([]);
    expect(byId(v, 'userns.probe')?.verdict).toBe('ok');
  });

  it('fails run mode ns, and warns auto, where user namespaces are refused (bwrap --disable-userns)', () => {
    const refused = ['--proc', '/proc', '--unshare-user', '--disable-userns'];
    const oracle = sandboxed(refused, [launcher, '-n', '1'], { SIDEBUNDLE_RUN_MODE: 'ns' });
    expect(oracle.status).toBe(126);
    expect(oracle.stderr).toContain('run mode ns cannot start');
    const ns = sandboxed(refused, [node, cliPath, 'doctor', bundle.dir, '--run-mode', 'ns', '--json']);
    expect(ns.status).toBe(1);
    expect(JSON.parse(ns.stdout).checks.find((c: { id: string }) => c.id === 'userns.probe')).toMatchObject({ verdict: 'fail' });
    const auto = sandboxed(refused, [node, cliPath, 'doctor', bundle.dir, '--json']);
    expect(auto.status).toBe(0);
    expect(JSON.parse(auto.stdout).verdict).toBe('warn');
  });

  it('fails without /proc, where the launcher cannot find its bundle', () => {
    const oracle = sandboxed(['--tmpfs', '/proc'], [launcher, '-n', '1']);
    expect(oracle.status).not.toBe(0);
    const run = sandboxed(['--tmpfs', '/proc'], [node, cliPath, 'doctor', bundle.dir, '--json']);
    expect(run.status).toBe(1);
    expect(JSON.parse(run.stdout).checks.find((c: { id: string }) => c.id === 'proc')).toMatchObject({ verdict: 'fail' });
  });

  it('fails a bundle on a noexec mount, which cannot start', () => {
    const script = `set -e; mount -t tmpfs -o noexec tmpfs "$1"; cp -a "$2" "$1/jq"; "$1/jq/bin/jq" -n 1 2>/dev/null && echo RAN || echo REFUSED; "$3" "$4" doctor "$1/jq" --json || true`;
    const mnt = tempDir('sb-noexec-');
    const run = spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script, 'sh', mnt, bundle.dir, node, cliPath], { encoding: 'utf8' });
    const [oracle, ...json] = run.stdout.split('\n');
    expect(oracle).toBe('REFUSED');
    expect(JSON.parse(json.join('\n')).checks.find((c: { id: string }) => c.id === 'noexec')).toMatchObject({ verdict: 'fail' });
  });

  it('fails run mode ns for a --run-mode host bundle, whose launcher runs host mode only', () => {
    const host = createBundle(['--name', 'jq-host', '--from-host', '/usr/bin/jq', '--out-dir', work, '--run-mode', 'host']);
    const oracle = spawnSync(path.join(host.dir, 'bin/jq'), ['-n', '1'], { encoding: 'utf8', env: { ...process.env, SIDEBUNDLE_RUN_MODE: 'ns' } });
    expect(oracle.status).toBe(126);
    const v = doctor([host.dir, '--run-mode', 'ns']);
    expect(v.status).toBe(1);
    expect(byId(v, 'run-mode')).toMatchObject({ verdict: 'fail', detail: expect.stringContaining('it was made for run mode host') });
    // Its own mode is fine.
    expect(byId(doctor([host.dir]), 'run-mode')).toBeUndefined();
  });

  it('fails a bundle whose loader is gone', () => {
    const copy = path.join(work, 'copy');
    execFileSync('cp', ['-a', bundle.dir, copy]);
    const manifest = JSON.parse(require('node:fs').readFileSync(path.join(copy, 'manifest.lock'), 'utf8'));
    require('node:fs').rmSync(path.join(copy, manifest.entries[0].loader));
    const v = doctor([copy]);
    expect(v.status).toBe(1);
    expect(byId(v, 'loader')?.verdict).toBe('fail');
  });

  it('fails a bundle whose files are all there but one changed (a cut loader, a library gone), which would not run', () => {
    const copy = path.join(work, 'cut');
    execFileSync('cp', ['-a', bundle.dir, copy]);
    const manifest = JSON.parse(require('node:fs').readFileSync(path.join(copy, 'manifest.lock'), 'utf8'));
    const loader = path.join(copy, manifest.entries[0].loader);
    require('node:fs').truncateSync(loader, 1000);
    expect(spawnSync(path.join(copy, 'bin/jq'), ['--version']).status).not.toBe(0); // the oracle: it does not run
    const v = doctor([copy]);
    expect(v.status).toBe(1);
    expect(byId(v, 'contents')).toMatchObject({ verdict: 'fail', detail: expect.stringMatching(/^1 changed, 0 missing, 0 extra \(first: payload\/\S+ld-linux-x86-64\.so\.2: size 1000, manifest says \d+\)$/) });
    expect(byId(doctor([bundle.dir]), 'contents')).toMatchObject({ verdict: 'ok' });
  });
});
