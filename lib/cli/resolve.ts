// `sidebundle resolve`: the static closure of programs, like ldd but without running the loader,
// inside any root. With --json, the ResolvedClosure the resolve step produces (sizes, modes and
// sha256 of every file); the text output shows none of those, so it stops at the closure itself
// and never loads the digest code (node:crypto, node:fs/promises): a third of the command's
// start-up, for an answer people compare with ldd's.
import * as path from 'node:path';

import { parseHostSpec } from '../entries/spec';
import { SidebundleError } from '../errors';
import { buildClosure, type ClosureDraft } from '../resolve/closure';
import { parseOptions } from './options';
import type { Reporter } from './reporter';

export const RESOLVE_HELP = `Usage: sidebundle resolve --from-host SPEC [--from-host SPEC ...] [options]

Print what each program needs and where the dynamic loader finds it (without running it).

Options:
  --from-host SPEC   a program (PATH[::name=NAME]; trace= is ignored here)
  --trace-root DIR   resolve inside DIR instead of /
  --allow-gpu-libs   do not leave GPU/DRM driver libraries out
  --log-level L      error|warn|info|debug|trace
  --json             print the ResolvedClosure as JSON
  -h, --help         this help`;

export async function resolveCommand(args: string[], reporterFor: (level: string | undefined, json: boolean) => Reporter): Promise<Reporter> {
  const { values } = parseOptions('resolve', args, {
    'from-host': { type: 'string', multiple: true },
    'trace-root': { type: 'string' },
    'allow-gpu-libs': { type: 'boolean' },
    'log-level': { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  const reporter = reporterFor(values['log-level'], values.json === true);
  if (values.help) {
    reporter.result(RESOLVE_HELP, { help: RESOLVE_HELP });
    return reporter;
  }
  const specs = (values['from-host'] ?? []).map(parseHostSpec);
  if (specs.length === 0) {
    throw new SidebundleError('NO_ENTRIES', 'resolve needs at least one --from-host program', {
      kind: 'input',
      hint: 'e.g. sidebundle resolve --from-host /usr/bin/curl',
    });
  }
  const options = {
    root: values['trace-root'] === undefined ? '/' : path.resolve(values['trace-root']),
    entries: specs.map((s) => ({ path: s.path, ...(s.name ? { name: s.name } : {}) })),
    allowGpuLibs: values['allow-gpu-libs'] === true,
  };
  if (reporter.json) {
    // Required here, not at the top: the digests are only for --json.
    const { resolveClosure } = require('../resolve/resolve') as typeof import('../resolve/resolve');
    const { closure } = await resolveClosure(options);
    warnAbout(closure, reporter);
    reporter.result('', closure);
  } else {
    const closure = buildClosure(options);
    warnAbout(closure, reporter);
    reporter.result(describeClosure(closure), closure);
  }
  return reporter;
}

type ClosureView = Pick<ClosureDraft, 'diagnostics' | 'entries' | 'missing' | 'excluded'> & { files: Array<Pick<ClosureDraft['files'][number], 'path' | 'reasons'>> };

function warnAbout(closure: ClosureView, reporter: Reporter): void {
  for (const d of closure.diagnostics) if (d.level === 'warning') reporter.warn(d.message);
}

/** ldd-like lines: each entry and its loader, then each library with where it was found. */
export function describeClosure(closure: ClosureView): string {
  const lines: string[] = [];
  for (const entry of closure.entries) {
    lines.push(`${entry.name} (${entry.kind}) ${entry.target}`);
    if (entry.loader) lines.push(`\tloader ${entry.loader}`);
  }
  for (const file of closure.files) {
    for (const reason of file.reasons) {
      if (reason.kind === 'needed') lines.push(`\t${reason.name} => ${file.path} (${reason.via})`);
      if (reason.kind === 'hwcaps-variant') lines.push(`\t${path.posix.basename(reason.of)} => ${file.path} (glibc-hwcaps ${reason.level})`);
    }
  }
  for (const m of closure.missing) lines.push(`\t${m.name} => not found (needed by ${m.chain.join(' -> ')})`);
  for (const e of closure.excluded) lines.push(`\t${e.neededName ?? path.posix.basename(e.path)} => ${e.path} (left out: ${e.reason})`);
  return lines.join('\n');
}
