// `sidebundle report DIR [--out FILE]`: one self-contained HTML page describing a bundle (what
// takes the space, why each file is there, what was left out, the glibc it needs), written
// beside the bundle as OUT-DIR/NAME.report.html unless --out says where.
import { statSync } from 'node:fs';
import * as path from 'node:path';

import { defaultReportPath, writeReport } from '../report';
import type { CommandOutcome } from './main';
import type { Reporter } from './reporter';
import { startCommand } from './command';

export const REPORT_HELP = `Usage: sidebundle report DIR [--out FILE] [--json]

Write one self-contained HTML file (no network, opens offline) about a bundle directory (or its
manifest.lock): a treemap by size, every file with the reasons it is there, what was left out
and why, the GLIBC_/GLIBCXX_ versions each ELF needs and the oldest glibc the bundle runs on
without its own loader, and the shrink against a source image.

Options:
  --out FILE        where to write it (default: NAME.report.html beside the bundle directory;
                    the bundle itself is never written to)
  --json            print one JSON result on stdout
  --log-level L     error|warn|info|debug|trace (default: warn)
  -h, --help        this help

Exit status: 0 written, 1 failure, 2 bad input.`;

export async function reportCommand(args: string[], reporterFor: (level: string | undefined, json: boolean) => Reporter): Promise<CommandOutcome> {
  const start = startCommand({ name: 'report', help: REPORT_HELP, operands: ['DIR'], options: { out: { type: 'string' } } }, args, reporterFor);
  if (start.helped) return start.helped;
  const { values, operands, reporter } = start;
  const target = operands[0]!;
  let bundleDir = target;
  try {
    if (statSync(target).isFile()) bundleDir = path.dirname(target);
  } catch {
    // writeReport names a missing path
  }
  const out = values.out ? path.resolve(values.out as string) : defaultReportPath(bundleDir);
  const started = performance.now();
  const written = writeReport(target, out);
  const ms = Math.round(performance.now() - started);
  const { data } = written;
  reporter.result(`report of ${data.name} → ${written.path} (${data.totals.files} files, ${data.glibc.floor ?? 'no GLIBC_ version'} needed natively, ${ms} ms)`, {
    ok: true,
    report: { path: written.path, bytes: written.bytes, files: data.totals.files, glibcFloor: data.glibc.floor ?? null, ms },
  });
  return { reporter, status: 0 };
}
