// The glibc a bundle's programs ask for: every GLIBC_x.y / GLIBCXX_x.y.z version each ELF needs
// (its version-need table), and the oldest glibc the bundle would run on with the target's own
// libc instead of its bundled loader: the newest GLIBC_x.y any non-glibc file needs. glibc's own
// files (those that define GLIBC_ versions) are left out of that floor: they would be replaced.
import type { VersionNeed } from '../elf';

export interface ElfVersions {
  path: string;
  /** GLIBC_/GLIBCXX_/CXXABI_ versions needed, per library. */
  needs: VersionNeed[];
  /** Defines GLIBC_ versions itself: part of glibc. */
  isGlibc: boolean;
}

export interface GlibcSummary {
  /** GLIBC_x.y: the oldest glibc that runs every non-glibc ELF natively; undefined when none asks. */
  floor?: string;
  /** The files that need `floor`. */
  floorNeededBy: string[];
  /** The newest GLIBCXX_ version needed (libstdc++), if any. */
  glibcxx?: string;
  glibcxxNeededBy: string[];
  elfs: Array<{ path: string; isGlibc: boolean; glibc: string[]; glibcxx: string[]; max?: string }>;
}

const GLIBC = /^GLIBC_(\d+(?:\.\d+)*)$/;
const GLIBCXX = /^GLIBCXX_(\d+(?:\.\d+)*)$/;

/** Compare dotted version numbers (2.9 < 2.10). */
export function compareVersions(a: string, b: string): number {
  const x = a.split('.').map(Number);
  const y = b.split('.').map(Number);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

function newest(versions: Iterable<string>, pattern: RegExp): string | undefined {
  let best: string | undefined;
  for (const v of versions) {
    const m = pattern.exec(v);
    if (m && (best === undefined || compareVersions(m[1]!, best) > 0)) best = m[1]!;
  }
  return best;
}

export function summarizeGlibc(elfs: readonly ElfVersions[]): GlibcSummary {
  const summary: GlibcSummary = { floorNeededBy: [], glibcxxNeededBy: [], elfs: [] };
  const raise = (which: 'floor' | 'glibcxx', by: 'floorNeededBy' | 'glibcxxNeededBy', version: string | undefined, path: string) => {
    if (version === undefined) return;
    const cmp = summary[which] === undefined ? 1 : compareVersions(version, summary[which]!);
    if (cmp > 0) {
      summary[which] = version;
      summary[by] = [path];
    } else if (cmp === 0) summary[by].push(path);
  };
  for (const elf of elfs) {
    const all = elf.needs.flatMap((n) => n.versions);
    const glibc = [...new Set(all.filter((v) => GLIBC.test(v)))].sort((a, b) => compareVersions(a.slice(6), b.slice(6)));
    const glibcxx = [...new Set(all.filter((v) => GLIBCXX.test(v)))].sort((a, b) => compareVersions(a.slice(8), b.slice(8)));
    if (glibc.length + glibcxx.length === 0) continue;
    const max = newest(glibc, GLIBC);
    summary.elfs.push({ path: elf.path, isGlibc: elf.isGlibc, glibc, glibcxx, ...(max ? { max: `GLIBC_${max}` } : {}) });
    if (elf.isGlibc) continue;
    raise('floor', 'floorNeededBy', max, elf.path);
    raise('glibcxx', 'glibcxxNeededBy', newest(glibcxx, GLIBCXX), elf.path);
  }
  if (summary.floor) summary.floor = `GLIBC_${summary.floor}`;
  if (summary.glibcxx) summary.glibcxx = `GLIBCXX_${summary.glibcxx}`;
  return summary;
}

/** Version names a library defines that satisfy a need (GLIBC_PRIVATE aside, exact names). */
export function unmetVersions(needed: readonly string[], defined: ReadonlySet<string>): string[] {
  return needed.filter((v) => !defined.has(v));
}
