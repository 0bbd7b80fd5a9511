// Would this bundle run here? Its files the launcher needs (the runner, each entry's launcher and
// bundled loader), then what its run mode asks of the kernel.
import { accessSync, constants, existsSync, realpathSync, statSync } from 'node:fs';
import * as path from 'node:path';

import { readManifest } from '../inspect/manifest-files';
import { verifyBundle } from '../inspect/verify';
import { RUN_MODES, type RunMode } from '../model/options';
import { LAUNCHER_PATH, ROOT_MOUNT_POINT, RUNNER_PATH } from '../package/launcher';
import { check, type Check } from './checks';
import { noexecCheck, procCheck, seccompCheck, usernsChecks, type KernelProbe } from './kernel';

function executable(file: string): string | undefined {
  try {
    if (!statSync(file).isFile()) return 'is not a file';
    accessSync(file, constants.X_OK);
    return undefined;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'is missing' : `cannot be executed (${(error as NodeJS.ErrnoException).code})`;
  }
}

/** The run mode in force: SIDEBUNDLE_RUN_MODE overrides the bundle's, as in the runner. */
export function effectiveRunMode(bundleModes: readonly string[], override: string | undefined): RunMode {
  const chosen = override || bundleModes[0] || 'auto';
  return (RUN_MODES as readonly string[]).includes(chosen) ? (chosen as RunMode) : 'auto';
}

/** Whether the bundle's files are those manifest.lock lists (verify's check): a changed library,
 * a cut loader or a missing program stops a bundle whose files are all present. */
export async function contentsCheck(dir: string): Promise<Check> {
  const report = await verifyBundle(dir);
  if (report.ok) return check('contents', 'ok', `${report.checked} files${report.checkedDirs > 0 ? ` and ${report.checkedDirs} directories` : ''} match manifest.lock`);
  const first = [...report.changed, ...report.missing, ...report.extra][0]!;
  return check('contents', 'fail', `${report.changed.length} changed, ${report.missing.length} missing, ${report.extra.length} extra (first: ${first.path}: ${first.why})`, `sidebundle verify ${dir} names them all; copy or build the bundle again`);
}

export function bundleChecks(dir: string, probe: KernelProbe, runModeOverride?: string): { checks: Check[]; runMode: RunMode } {
  const { manifest } = readManifest(dir);
  const runMode = effectiveRunMode(manifest.entries.map((e) => e.runMode), runModeOverride);
  const checks: Check[] = [];
  for (const [id, at] of [['launch', LAUNCHER_PATH], ['runner', RUNNER_PATH]] as const) {
    if (!manifest.launchers.some((l) => l.path === at)) continue;
    const problem = executable(path.join(dir, at));
    checks.push(problem ? check(id, 'fail', `${at} ${problem}`, 'the bundle is incomplete: copy it again (sidebundle verify says what else changed)') : check(id, 'ok', `${at} is present`));
  }
  // A --run-mode host bundle has no mount point for a new root: its launcher runs host mode only.
  if (runMode !== 'host' && runMode !== 'auto' && !existsSync(path.join(dir, ROOT_MOUNT_POINT))) {
    checks.push(check('run-mode', 'fail', `run mode ${runMode} needs ${ROOT_MOUNT_POINT}, which this bundle lacks: it was made for run mode host, and its launcher runs programs on the host only`, `unset SIDEBUNDLE_RUN_MODE, or bundle again with --run-mode auto (or ${runMode})`));
  }
  for (const entry of manifest.entries) {
    const launcher = path.join(dir, entry.launcher);
    const missing = executable(launcher);
    if (missing) checks.push(check(`launcher:${entry.name}`, 'fail', `${entry.launcher} ${missing}`, 'the bundle is incomplete: copy it again'));
    if (entry.loader) {
      const problem = executable(path.join(dir, entry.loader));
      checks.push(problem ? check(`loader:${entry.name}`, 'fail', `the bundled loader ${entry.loader} ${problem}`, 'the bundle is incomplete: copy it again (sidebundle verify says what else changed)') : check(`loader:${entry.name}`, 'ok', `the bundled loader ${entry.loader} is present`));
    }
  }
  checks.push(procCheck(probe));
  checks.push(...usernsChecks(probe, runMode));
  const seccomp = seccompCheck(probe);
  if (seccomp) checks.push(seccomp);
  let real = path.resolve(dir);
  try {
    real = realpathSync(dir);
  } catch {
    // judged on the path as given
  }
  checks.push(noexecCheck(probe, real));
  return { checks, runMode };
}
