// `sidebundle diff A B`: what changed between two bundles (directories or manifest.lock files):
// added, removed and changed files with sizes and reasons. Exit 0 either way (like git diff
// without --exit-code); --exit-code makes a difference exit 1.
import { diffManifests } from '../inspect/diff';
import { readManifest } from '../inspect/manifest-files';
import type { CommandOutcome } from './main';
import type { Reporter } from './reporter';
import { startCommand } from './command';
import { shown } from './shown';

export const DIFF_HELP = `Usage: sidebundle diff A B [--json] [--exit-code]

Compare two bundles (bundle directories or manifest.lock files): entries added or removed,
files added, removed and changed, with sizes and why each file is there.

Options:
  --json            print one JSON result on stdout
  --exit-code       exit 1 when the bundles differ
  --log-level L     error|warn|info|debug|trace (default: warn)
  -h, --help        this help

Exit status: 0 (or 1 with --exit-code and a difference), 2 bad input.`;

export async function diffCommand(args: string[], reporterFor: (level: string | undefined, json: boolean) => Reporter): Promise<CommandOutcome> {
  const start = startCommand({ name: 'diff', help: DIFF_HELP, operands: ['A', 'B'], options: { 'exit-code': { type: 'boolean' } } }, args, reporterFor);
  if (start.helped) return start.helped;
  const { values, operands, reporter } = start;
  const diff = diffManifests(readManifest(operands[0]!).manifest, readManifest(operands[1]!).manifest);
  const size = (n: number | undefined) => (n === undefined ? '' : ` (${n} bytes)`);
  const lines = [
    ...diff.entries.added.map((e) => `+ entry ${e}`),
    ...diff.entries.removed.map((e) => `- entry ${e}`),
    ...diff.added.map((f) => `+ ${f.path}${size(f.size)}: ${f.reasons.join('; ')}`),
    ...diff.removed.map((f) => `- ${f.path}${size(f.size)}: ${f.reasons.join('; ')}`),
    ...diff.changed.map((f) => `~ ${f.path}: ${f.changes.join(', ')}${f.reasons.length ? ` [${f.reasons.join('; ')}]` : ''}`),
    `${diff.added.length} added, ${diff.removed.length} removed, ${diff.changed.length} changed; ${diff.bytes.before} → ${diff.bytes.after} bytes`,
  ].map(shown);
  reporter.result(diff.same ? shown(`same: ${operands[0]} and ${operands[1]} list the same files`) : lines.join('\n'), { ok: true, diff });
  return { reporter, status: values['exit-code'] && !diff.same ? 1 : 0 };
}
