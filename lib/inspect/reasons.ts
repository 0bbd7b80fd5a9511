// Why a file is in a bundle, in words a reader follows without knowing manifest.lock's schema:
// one sentence per reason, naming the entry a library was loaded for when the chain leads to one.
// The one wording of a reason: verify, diff and the report all print these sentences.
import type { Manifest } from '../package/manifest';
import type { Reason } from '../model/closure';

const TRACE_OPS: Record<string, string> = { open: 'opened', stat: 'looked up', exec: 'executed', readlink: 'read as a link', opendir: 'listed' };

/** The names of the entries whose program is each logical path, for `reasonInWords`. */
export function entriesByProgram(manifest: Pick<Manifest, 'entries'>): (logical: string) => string[] {
  const programs = new Map<string, string[]>();
  for (const e of manifest.entries) programs.set(e.logicalProgram, [...(programs.get(e.logicalProgram) ?? []), e.name]);
  return (logical) => programs.get(logical) ?? [];
}

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
      // hasOwn: a manifest is input, and "constructor" is not an operation.
      return `${Object.hasOwn(TRACE_OPS, reason.op) ? TRACE_OPS[reason.op] : `touched (${reason.op})`} when tracing \`${reason.command}\` (entry ${reason.entry})`;
    case 'copy-dir':
      return `copied with --copy-dir from ${reason.source}`;
    case 'loader-cache':
      return 'the loader cache, read by the bundled loader when the payload is /';
    case 'collected':
      return `collected by ${reason.family}: ${reason.what}`;
    default:
      return unknownReason(reason as unknown as Record<string, unknown>);
  }
}

/** A kind this version does not know (a newer sidebundle's manifest): its fields as they are. */
function unknownReason(reason: Record<string, unknown>): string {
  const details = Object.entries(reason).filter(([k]) => k !== 'kind').map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(' -> ') : typeof v === 'object' ? JSON.stringify(v) : String(v)}`);
  return details.length ? `${String(reason.kind)} (${details.join(', ')})` : String(reason.kind);
}
