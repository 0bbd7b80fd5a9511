// What the kernel of this machine allows a bundle's run mode: /proc (the launcher finds its
// bundle through /proc/self/exe), unprivileged user namespaces (ns, auto, bwrap), seccomp, and a
// noexec mount under the bundle. The proc directory and the user-namespace probe are parameters:
// `--root` reads a mounted root's /proc from outside, and tests point them at real roots.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

import type { RunMode } from '../model/options';
import { check, type Check, type Verdict } from './checks';
import { mountOf, parseMountInfo } from './mounts';

export interface KernelProbe {
  /** The proc file system to read (`/proc`, or ROOT/proc). */
  proc: string;
  /** Try to create a user namespace; undefined when it cannot be tried here. */
  userns: () => { ok: boolean; why: string } | undefined;
  uid: number;
}

/** The real probe: a child in a new user namespace (util-linux unshare), as the runner would make. */
export function probeUserNamespace(): { ok: boolean; why: string } | undefined {
  const run = spawnSync('unshare', ['--user', '--map-root-user', 'true'], { encoding: 'utf8', timeout: 10000 });
  if (run.error) return undefined;
  return run.status === 0 ? { ok: true, why: 'a child process created a user namespace' } : { ok: false, why: (run.stderr || `unshare exited ${run.status}`).trim() };
}

export const hostProbe = (): KernelProbe => ({ proc: '/proc', userns: probeUserNamespace, uid: process.getuid?.() ?? -1 });

const read = (file: string): string | undefined => {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
};

export function procCheck(probe: KernelProbe): Check {
  return read(path.join(probe.proc, 'self/status')) !== undefined
    ? check('proc', 'ok', `${probe.proc} is mounted`)
    : check('proc', 'fail', `${probe.proc} is not mounted (no ${probe.proc}/self/status)`, 'mount proc (mount -t proc proc /proc): the launcher finds its bundle through /proc/self/exe, and the loader and most programs need it');
}

/** User namespaces, judged for the run mode: required by ns and bwrap, wished for by auto. */
export function usernsChecks(probe: KernelProbe, mode: RunMode): Check[] {
  if (mode === 'host') return [check('userns', 'ok', 'run mode host needs no namespace')];
  if (mode === 'chroot') {
    return [probe.uid === 0 ? check('chroot', 'ok', 'running as root: a mount namespace and chroot(2) are allowed') : check('chroot', 'fail', `run mode chroot needs root (uid ${probe.uid})`, 'run as root, or use run mode ns, auto or host')];
  }
  const refused: Verdict = mode === 'auto' ? 'warn' : 'fail';
  const hint = mode === 'auto' ? 'auto falls back to run mode host (the bundled loader on the host file system): programs that need the payload at / may then fail' : `allow unprivileged user namespaces, or run with SIDEBUNDLE_RUN_MODE=host`;
  const checks: Check[] = [];
  const clone = read(path.join(probe.proc, 'sys/kernel/unprivileged_userns_clone'))?.trim();
  if (clone === '0') checks.push(check('userns.sysctl', refused, 'kernel.unprivileged_userns_clone is 0: unprivileged user namespaces are disabled', `${hint}; sysctl -w kernel.unprivileged_userns_clone=1`));
  const max = read(path.join(probe.proc, 'sys/user/max_user_namespaces'))?.trim();
  if (max === '0') checks.push(check('userns.max', refused, 'user.max_user_namespaces is 0: no user namespace can be created', `${hint}; sysctl -w user.max_user_namespaces=15000`));
  const apparmor = read(path.join(probe.proc, 'sys/kernel/apparmor_restrict_unprivileged_userns'))?.trim();
  if (apparmor === '1') checks.push(check('userns.apparmor', 'warn', 'AppArmor restricts unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns=1)', 'a profile for the launcher, or sysctl -w kernel.apparmor_restrict_unprivileged_userns=0'));
  const tried = probe.userns();
  if (tried === undefined) checks.push(check('userns.probe', 'warn', 'could not try a user namespace here (no unshare command, or --root given)'));
  else if (tried.ok) checks.push(check('userns.probe', 'ok', tried.why));
  else checks.push(check('userns.probe', refused, `creating a user namespace failed: ${tried.why}`, hint));
  if (mode === 'bwrap') checks.push(onPath('bwrap') ? check('bwrap', 'ok', 'bwrap is on PATH') : check('bwrap', 'fail', 'run mode bwrap needs bubblewrap, and bwrap is not on PATH', 'install bubblewrap, or use run mode ns or auto'));
  return checks;
}

function onPath(command: string): boolean {
  return (process.env.PATH ?? '').split(':').some((dir) => dir && read(path.join(dir, command)) !== undefined);
}

/** Seccomp: a filter (containers' default profiles) may refuse unshare and mount. */
export function seccompCheck(probe: KernelProbe): Check | undefined {
  const status = read(path.join(probe.proc, 'self/status'));
  if (status === undefined) return undefined;
  const mode = /^Seccomp:\s*(\d)/m.exec(status)?.[1];
  if (mode === '2') return check('seccomp', 'warn', 'a seccomp filter is active (a container profile?): it may refuse unshare(2) and mount(2)', 'the user-namespace probe says whether it does; run the container with a profile that allows them, or use run mode host');
  if (mode === '1') return check('seccomp', 'fail', 'strict seccomp: only read, write, exit and sigreturn are allowed');
  return check('seccomp', 'ok', mode === undefined ? 'the kernel reports no seccomp state' : 'no seccomp filter');
}

/** noexec under `dir` (a host path) stops every program in the bundle. */
export function noexecCheck(probe: KernelProbe, dir: string): Check {
  const info = read(path.join(probe.proc, 'self/mountinfo'));
  if (info === undefined) return check('noexec', 'warn', `cannot tell how ${dir} is mounted (no ${probe.proc}/self/mountinfo)`);
  const mount = mountOf(parseMountInfo(info), dir);
  if (!mount) return check('noexec', 'warn', `no mount in ${probe.proc}/self/mountinfo holds ${dir}`);
  return mount.options.includes('noexec')
    ? check('noexec', 'fail', `${dir} is on ${mount.mountPoint} (${mount.fsType}), mounted noexec: no program in it can run`, `move the bundle to a file system mounted with exec, or remount: mount -o remount,exec ${mount.mountPoint}`)
    : check('noexec', 'ok', `${dir} is on ${mount.mountPoint} (${mount.fsType}), which allows exec`);
}
