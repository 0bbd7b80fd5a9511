// manifest.lock: the bundle described for audits and reproducible builds. Every shipped file
// with its sha256, size, mode and the reasons it is there; what was left out and why; what the
// validator found. Built only from the plan, so two runs with the same inputs write the same bytes.
// Format 2: no data/ store and no resources/traced/ mirror (a traced file is a payload file with
// a `traced` reason); a path whose content another path holds is a symlink to it (`sameAs`).
import type { RunMode } from '../model/options';
import type { Conflict, LauncherPlan, MergedPlan, PlanFile } from '../model/plan';
import type { ValidationReport } from '../validate/validate';
import { placeFiles, storedMode } from './layout';

export const MANIFEST_FORMAT = 'sidebundle/manifest@2';

/** The mode of every directory of a bundle, its root included. */
export const DIR_MODE = 0o755;

export interface ManifestFile {
  path: string;
  sha256: string;
  size: number;
  mode: string;
  reasons: PlanFile['reasons'];
  /** Set when this path is a symlink to another file of the bundle with the same content and
   * mode (layout.ts): that file's bundle path. */
  sameAs?: string;
}

export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  name: string;
  generator: { name: 'sidebundle'; version: string };
  roots: MergedPlan['roots'];
  entries: Array<Omit<LauncherPlan, 'env'> & { launcher: string; env: Record<string, string>; runMode: RunMode }>;
  files: ManifestFile[];
  symlinks: MergedPlan['symlinks'];
  /** Every directory below the bundle's root, sorted; each is mode 0755 (DIR_MODE). Absent in
   * manifests written before sidebundle recorded directories. */
  dirs?: string[];
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
  runModes: Record<string, RunMode>,
  dirs: string[],
): Manifest {
  const placement = placeFiles(plan.files);
  const describe = (file: PlanFile): ManifestFile => {
    const place = placement.get(file.path);
    return {
      path: file.path,
      sha256: file.sha256,
      size: file.size,
      mode: storedMode(file.mode).toString(8).padStart(4, '0'),
      reasons: file.reasons,
      ...(place?.kind === 'symlink' ? { sameAs: place.of } : {}),
    };
  };
  return {
    format: MANIFEST_FORMAT,
    name: plan.name,
    generator: { name: 'sidebundle', version },
    roots: plan.roots,
    entries: plan.launchers.map((l) => ({ ...l, launcher: l.path, runMode: runModes[l.name] ?? 'host' })),
    files: plan.files.map(describe),
    symlinks: plan.symlinks,
    dirs: [...dirs].sort(),
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
