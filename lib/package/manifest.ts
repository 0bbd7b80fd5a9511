// manifest.lock: the bundle described for audits and reproducible builds. Every shipped file
// with its sha256, size, mode and the reasons it is there; what was left out and why; what the
// validator found. Built only from the plan, so two runs with the same inputs write the same bytes.
import type { RunMode } from '../model/options';
import type { Conflict, LauncherPlan, MergedPlan, PlanFile } from '../model/plan';
import type { ValidationReport } from '../validate/validate';
import { storedMode } from './content';

export const MANIFEST_FORMAT = 'sidebundle/manifest@1';

export interface ManifestFile {
  path: string;
  sha256: string;
  size: number;
  mode: string;
  reasons: PlanFile['reasons'];
}

export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  name: string;
  generator: { name: 'sidebundle'; version: string };
  roots: MergedPlan['roots'];
  entries: Array<Omit<LauncherPlan, 'env'> & { launcher: string; env: Record<string, string>; runMode: RunMode }>;
  files: ManifestFile[];
  traced_files: ManifestFile[];
  symlinks: MergedPlan['symlinks'];
  launchers: Array<{ path: string; sha256: string; size: number; mode: string }>;
  excluded: MergedPlan['excluded'];
  missing: MergedPlan['missing'];
  conflicts: Conflict[];
  diagnostics: MergedPlan['diagnostics'];
  validation: ValidationReport;
}

export function buildManifest(
  plan: MergedPlan,
  launchers: Manifest['launchers'],
  validation: ValidationReport,
  version: string,
  runModes: Record<string, RunMode> = {},
): Manifest {
  const describe = (file: PlanFile): ManifestFile => ({
    path: file.path,
    sha256: file.sha256,
    size: file.size,
    mode: storedMode(file.mode).toString(8).padStart(4, '0'),
    reasons: file.reasons,
  });
  const traced = (file: PlanFile) => file.path.startsWith('resources/traced/');
  return {
    format: MANIFEST_FORMAT,
    name: plan.name,
    generator: { name: 'sidebundle', version },
    roots: plan.roots,
    entries: plan.launchers.map((l) => ({ ...l, launcher: l.path, runMode: runModes[l.name] ?? 'host' })),
    files: plan.files.filter((f) => !traced(f)).map(describe),
    traced_files: plan.files.filter(traced).map(describe),
    symlinks: plan.symlinks,
    launchers,
    excluded: plan.excluded,
    missing: plan.missing,
    conflicts: plan.conflicts,
    diagnostics: plan.diagnostics,
    validation,
  };
}

export function serializeManifest(manifest: Manifest): string {
  return `${JSON.stringify(manifest, null, 2)}\n`;
}
