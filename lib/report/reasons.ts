// Which heading the report files a file under, by the reasons it is in the bundle. The reasons
// themselves in words: inspect/reasons.ts (verify and diff print the same sentences).
import type { Reason } from '../model/closure';

// Which single heading a file is counted under in the "how collected" view: the strongest claim
// wins (a library both needed and traced was needed; tracing only confirmed it).
const KIND_ORDER = ['entry', 'script', 'interpreter', 'script-interpreter', 'needed', 'hwcaps-variant', 'helper', 'copy-dir', 'collected', 'traced', 'loader-cache'];
const KIND_HEADINGS: Record<string, string> = {
  entry: 'entry programs',
  script: 'entry programs',
  interpreter: 'loaders',
  'script-interpreter': 'script interpreters',
  needed: 'libraries (DT_NEEDED)',
  'hwcaps-variant': 'libraries (DT_NEEDED)',
  helper: 'script helpers',
  'copy-dir': 'copy-dir',
  traced: 'traced',
  'loader-cache': 'loader cache',
};

/** The heading a file goes under when grouped by how it was collected. */
export function collectedBy(reasons: readonly Reason[]): string {
  let best: Reason | undefined;
  for (const r of reasons) if (!best || rank(r.kind) < rank(best.kind)) best = r;
  if (!best) return 'unexplained';
  if (best.kind === 'collected') return `collected: ${best.family}`;
  return KIND_HEADINGS[best.kind] ?? best.kind;
}

function rank(kind: string): number {
  const at = KIND_ORDER.indexOf(kind);
  return at === -1 ? KIND_ORDER.length : at;
}
