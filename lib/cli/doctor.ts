// `sidebundle doctor [BUNDLE-DIR | PROGRAM] [--root DIR]`, run on a target machine: why a bundle
// (or a plain program) would not run here. Exit 1 when a check fails.
import { statSync } from 'node:fs';
import * as path from 'node:path';

import { overall, type Check } from '../doctor/checks';
import { bundleChecks, contentsCheck } from '../doctor/bundle';
import { hostProbe, procCheck, seccompCheck, usernsChecks, type KernelProbe } from '../doctor/kernel';
import { programChecks } from '../doctor/program';
import { RUN_MODES, type RunMode } from '../model/options';
import type { CommandOutcome } from './main';
import type { Reporter } from './reporter';
import { startCommand } from './command';
import { oneOf } from './options';

export const DOCTOR_HELP = `Usage: sidebundle doctor [BUNDLE-DIR | PROGRAM] [--root DIR] [--run-mode M] [--json]

On the machine a bundle is meant to run on, say why it would not: for a bundle directory, its
runner, launchers and bundled loaders, then what its run mode needs from the kernel (/proc,
unprivileged user namespaces, seccomp, no noexec mount under it). For a plain program: its
loader (PT_INTERP), each DT_NEEDED library, and every symbol version (GLIBC_x.y) it needs.
With nothing named, the kernel checks alone.

Options:
  --root DIR        judge a mounted root from outside: programs are looked up inside DIR, and
                    DIR/proc is read instead of /proc (no user namespace is tried)
  --run-mode M      auto|host|ns|bwrap|chroot: judge this run mode instead of the bundle's
                    (default: SIDEBUNDLE_RUN_MODE, else the bundle's, else auto)
  --json            print one JSON result on stdout
  --log-level L     error|warn|info|debug|trace (default: warn)
  -h, --help        this help

Exit status: 0 nothing fails (warnings allowed), 1 a check fails, 2 bad input.`;

const MARK = { ok: 'ok  ', warn: 'WARN', fail: 'FAIL' } as const;

export async function doctorCommand(args: string[], reporterFor: (level: string | undefined, json: boolean) => Reporter): Promise<CommandOutcome> {
  const start = startCommand({ name: 'doctor', help: DOCTOR_HELP, operands: ['[BUNDLE-DIR|PROGRAM]'], options: { root: { type: 'string' }, 'run-mode': { type: 'string' } } }, args, reporterFor);
  if (start.helped) return start.helped;
  const { values, operands: positionals, reporter } = start;
  const root = values.root === undefined ? undefined : path.resolve(values.root);
  const probe: KernelProbe = root ? { proc: path.join(root, 'proc'), userns: () => undefined, uid: process.getuid?.() ?? -1 } : hostProbe();
  const override = values['run-mode'] === undefined ? process.env.SIDEBUNDLE_RUN_MODE : oneOf(values['run-mode'], RUN_MODES, '--run-mode', 'auto');
  const target = positionals[0];
  let checks: Check[];
  let subject: string;
  if (target === undefined) {
    const mode: RunMode = (RUN_MODES as readonly string[]).includes(override ?? '') ? (override as RunMode) : 'auto';
    checks = [procCheck(probe), ...usernsChecks(probe, mode), ...[seccompCheck(probe)].filter((c): c is Check => c !== undefined)];
    subject = `this machine (run mode ${mode})`;
  } else if (isDirectory(root ? path.join(root, target) : target)) {
    const dir = root ? path.join(root, target) : target;
    const judged = bundleChecks(dir, probe, override);
    checks = [await contentsCheck(dir), ...judged.checks];
    subject = `bundle ${dir} (run mode ${judged.runMode})`;
  } else {
    checks = programChecks(target, root ?? '/');
    subject = `program ${target}${root ? ` inside ${root}` : ''}`;
  }
  const verdict = overall(checks);
  const lines = checks.map((c) => `${MARK[c.verdict]} ${c.id}: ${c.detail}${c.hint && c.verdict !== 'ok' ? `\n       hint: ${c.hint}` : ''}`);
  const counts = (['fail', 'warn'] as const).map((v) => `${checks.filter((c) => c.verdict === v).length} ${v === 'fail' ? 'failed' : 'warnings'}`).join(', ');
  reporter.result([`doctor: ${subject}`, ...lines, `${verdict === 'fail' ? 'would not run' : verdict === 'warn' ? 'should run (see the warnings)' : 'should run'}: ${counts}`].join('\n'), { ok: verdict !== 'fail', verdict, subject, checks });
  return { reporter, status: verdict === 'fail' ? 1 : 0 };
}

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}
