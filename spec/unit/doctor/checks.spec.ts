// The doctor's verdicts from what a machine shows: mountinfo, the sysctls under a proc
// directory (real files in a temporary tree standing for /proc), the run mode in force.
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

import { effectiveRunMode } from '../../../lib/doctor/bundle';
import { overall } from '../../../lib/doctor/checks';
import { noexecCheck, procCheck, usernsChecks, type KernelProbe } from '../../../lib/doctor/kernel';
import { mountOf, parseMountInfo } from '../../../lib/doctor/mounts';
import { tempDir } from '../../helpers/tmp';

const MOUNTINFO = [
  '22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw',
  '40 22 0:35 / /tmp rw,nosuid,nodev shared:2 - tmpfs tmpfs rw',
  '41 40 0:36 / /tmp/no\\040exec rw,nosuid,nodev,noexec - tmpfs tmpfs rw',
].join('\n');

function fakeProc(files: Record<string, string>): KernelProbe {
  const proc = tempDir('sb-proc-');
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(proc, name)), { recursive: true });
    writeFileSync(path.join(proc, name), text);
  }
  return { proc, userns: () => ({ ok: true, why: 'probe ok' }), uid: 1000 };
}

describe('mounts', () => {
  it('finds the innermost mount holding a path, with escaped spaces decoded', () => {
    const mounts = parseMountInfo(MOUNTINFO);
    expect(mountOf(mounts, '/tmp/no exec/b')?.options).toContain('noexec');
    expect(mountOf(mounts, '/tmp/other')?.mountPoint).toBe('/tmp');
    expect(mountOf(mounts, '/tmpx')?.mountPoint).toBe('/');
  });

  it('fails a bundle on a noexec mount and passes one beside it', () => {
    const probe = fakeProc({ 'self/mountinfo': MOUNTINFO });
    expect(noexecCheck(probe, '/tmp/no exec/jq').verdict).toBe('fail');
    expect(noexecCheck(probe, '/tmp/jq').verdict).toBe('ok');
  });
});

describe('kernel verdicts', () => {
  it('fails without /proc', () => {
    expect(procCheck(fakeProc({})).verdict).toBe('fail');
    expect(procCheck(fakeProc({ 'self/status': 'Seccomp:\t0\n' })).verdict).toBe('ok');
  });

  it('fails run mode ns, and warns auto, when user namespaces are switched off', () => {
    const probe = fakeProc({ 'sys/user/max_user_namespaces': '0\n', 'sys/kernel/unprivileged_userns_clone': '0\n' });
    probe.userns = () => ({ ok: false, why: 'unshare failed: Operation not permitted' });
    const ns = usernsChecks(probe, 'ns');
    expect(ns.map((c) => [c.id, c.verdict])).toEqual([['userns.sysctl', 'fail'], ['userns.max', 'fail'], ['userns.probe', 'fail']]);
    expect(overall(usernsChecks(probe, 'auto'))).toBe('warn');
    expect(overall(usernsChecks(probe, 'host'))).toBe('ok');
  });

  it('fails run mode chroot for a user that is not root', () => {
    expect(usernsChecks(fakeProc({}), 'chroot')[0]?.verdict).toBe('fail');
  });

  it('judges the run mode SIDEBUNDLE_RUN_MODE names over the bundle\'s', () => {
    expect(effectiveRunMode(['auto'], 'ns')).toBe('ns');
    expect(effectiveRunMode(['host'], undefined)).toBe('host');
    expect(effectiveRunMode([], '')).toBe('auto');
  });
});
