// Why a file is in a bundle, in words a reader follows without knowing manifest.lock's schema:
// one sentence per reason, naming the entry a library was loaded for when the chain leads to one.
import { describeReason } from '../inspect/manifest-files';
import type { Reason } from '../model/closure';

const TRACE_OPS: Record<string, string> = { open: 'opened', stat: 'looked up', exec: 'executed', readlink: 'read as a link', opendir: 'listed' };

/** One reason as a sentence. `entryOf` names the entries whose program is a logical path. */
export function reasonInWords(reason: Reason, entryOf: (logical: string) => string[] = () => []): string {
  const of = (logical: string) => {
    const entries = entryOf(logical);
    return entries.length ? `${logical} (entry ${entries.join(', ')})` : logical;
  };
  switch (reason.kind) {
    case 'entry':
      return `the program of entry ${reason.entry}`;
    case 'interpreter':
      return `the dynamic loader (PT_INTERP) of ${of(reason.of)}`;
    case 'needed':
      return `needed by ${of(reason.by)} (DT_NEEDED ${reason.name}, found via ${reason.via})`;
    case 'hwcaps-variant':
      return `the ${reason.level} hwcaps variant of ${reason.of}`;
    case 'script-interpreter':
      return `the #! interpreter of ${of(reason.of)}`;
    case 'script':
      return `the script of entry ${reason.entry}`;
    case 'helper':
      return `command "${reason.command}" called by the script ${of(reason.of)}`;
    case 'traced':
      return `${TRACE_OPS[reason.op] ?? `touched (${reason.op})`} when tracing \`${reason.command}\` (entry ${reason.entry})`;
    case 'copy-dir':
      return `copied with --copy-dir from ${reason.source}`;
    case 'loader-cache':
      return 'the loader cache, read by the bundled loader when the payload is /';
    case 'collected':
      return `collected by ${reason.family}: ${reason.what}`;
    default:
      return describeReason(reason as unknown as Record<string, unknown>);
  }
}

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
