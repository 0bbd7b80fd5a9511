// `sidebundle verify DIR|FILE.run`: is the bundle still what its manifest.lock (or its trailer)
// says? Exit 0 when it is, 1 with each changed, missing and extra file named.
import { statSync } from 'node:fs';

import { SidebundleError } from '../errors';
import { isSingleFile, trailerEnd, verifySingleFile } from '../inspect/verify-single';
import { verifyBundle } from '../inspect/verify';
import type { CommandOutcome } from './main';
import type { Reporter } from './reporter';
import { startCommand } from './command';
import { shown } from './shown';

export const VERIFY_HELP = `Usage: sidebundle verify DIR|FILE.run [--json]

Re-hash every file of a bundle directory against its manifest.lock and name each changed,
missing or extra file or directory (every directory is mode 0755); a single-file bundle (.run)
is checked against the digest in its trailer.

Options:
  --json            print one JSON result on stdout
  --log-level L     error|warn|info|debug|trace (default: warn)
  -h, --help        this help

Exit status: 0 intact, 1 changed, 2 bad input.`;

export async function verifyCommand(args: string[], reporterFor: (level: string | undefined, json: boolean) => Reporter): Promise<CommandOutcome> {
  const start = startCommand({ name: 'verify', help: VERIFY_HELP, operands: ['DIR|FILE.run'], options: {} }, args, reporterFor);
  if (start.helped) return start.helped;
  const { operands, reporter } = start;
  const target = operands[0]!;
  let isFile = false;
  try {
    isFile = statSync(target).isFile();
  } catch {
    // readManifest names a missing path
  }
  if (isFile) {
    if (!isSingleFile(target)) {
      const end = trailerEnd(target);
      if (end !== undefined) {
        const why = `${statSync(target).size - end} bytes follow its trailer (ending at byte ${end}): something was appended to it`;
        reporter.result([`${target} is damaged:`, `  ${why}`].map(shown).join('\n'), { ok: false, singleFile: { ok: false, file: target, problems: [{ path: target, why }] } });
        return { reporter, status: 1 };
      }
      throw new SidebundleError('INSPECT_NOT_A_BUNDLE', `${target} is neither a bundle directory nor a single-file bundle`, { input: target, kind: 'input', hint: 'give the directory sidebundle create wrote, or its .run file (a .run cut short has lost its trailer: copy or download it again)' });
    }
    const report = verifySingleFile(target);
    const human = report.ok
      ? `ok: ${target} matches its trailer (sha256 ${report.digest}, ${report.members} members)`
      : [`${target} is damaged:`, ...report.problems.map((p) => `  ${p.why}`)].map(shown).join('\n');
    reporter.result(human, { ok: report.ok, singleFile: report });
    return { reporter, status: report.ok ? 0 : 1 };
  }
  const report = await verifyBundle(target);
  const lines = [
    ...report.changed.map((f) => `changed  ${f.path}: ${f.why}`),
    ...report.missing.map((f) => `missing  ${f.path}: ${f.why}`),
    ...report.extra.map((f) => `extra    ${f.path}: ${f.why}`),
  ].map(shown);
  const dirs = report.checkedDirs > 0 ? ` and ${report.checkedDirs} directories` : '';
  const human = report.ok
    ? `ok: ${report.checked} files${dirs} of ${target} match manifest.lock`
    : [...lines, `${target}: ${report.changed.length} changed, ${report.missing.length} missing, ${report.extra.length} extra (of ${report.checked + report.checkedDirs + report.missing.length} in manifest.lock)`].join('\n');
  reporter.result(human, { ok: report.ok, verify: report });
  return { reporter, status: report.ok ? 0 : 1 };
}
