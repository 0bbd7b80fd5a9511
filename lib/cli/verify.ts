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

export const VERIFY_HELP = `Usage: sidebundle verify DIR|FILE.run [--manifest-sha256 HEX] [--json]

Re-hash every file of a bundle directory against its manifest.lock and name each changed,
missing or extra file or directory (every directory is mode 0755); a single-file bundle (.run)
is checked against the digest in its trailer.

Options:
  --manifest-sha256 HEX
                    the sha256 of the bundle's manifest.lock, as create printed it: a bundle
                    whose files and manifest were changed to agree is caught too (directories)
  --json            print one JSON result on stdout
  --log-level L     error|warn|info|debug|trace (default: warn)
  -h, --help        this help

Exit status: 0 intact, 1 changed, 2 bad input.`;

export async function verifyCommand(args: string[], reporterFor: (level: string | undefined, json: boolean) => Reporter): Promise<CommandOutcome> {
  const start = startCommand({ name: 'verify', help: VERIFY_HELP, operands: ['DIR|FILE.run'], options: { 'manifest-sha256': { type: 'string' } } }, args, reporterFor);
  if (start.helped) return start.helped;
  const { operands, reporter, values } = start;
  const target = operands[0]!;
  const pinned = values['manifest-sha256']?.toLowerCase();
  if (pinned !== undefined && !/^[0-9a-f]{64}$/.test(pinned)) {
    throw new SidebundleError('BAD_OPTION', `--manifest-sha256 ${values['manifest-sha256']} is not a sha256 (64 hexadecimal digits)`, { input: values['manifest-sha256']!, kind: 'input', hint: 'give manifestSha256 from create --json, or the manifest.lock sha256 line create prints' });
  }
  let isFile = false;
  try {
    isFile = statSync(target).isFile();
  } catch {
    // readManifest names a missing path
  }
  if (isFile && pinned !== undefined) {
    throw new SidebundleError('BAD_OPTION', `--manifest-sha256 checks a bundle directory's manifest.lock; ${target} is a file`, { input: target, kind: 'input', hint: 'a .run is checked against the digest in its trailer: compare its own sha256sum to pin it' });
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
  const report = await verifyBundle(target, pinned);
  const lines = [
    ...report.changed.map((f) => `changed  ${f.path}: ${f.why}`),
    ...report.missing.map((f) => `missing  ${f.path}: ${f.why}`),
    ...report.extra.map((f) => `extra    ${f.path}: ${f.why}`),
  ].map(shown);
  const dirs = report.checkedDirs > 0 ? ` and ${report.checkedDirs} directories` : '';
  const human = report.ok
    ? `ok: ${report.checked} files${dirs} of ${target} match manifest.lock${pinned ? ', whose sha256 is the one expected' : ''}${report.dirsListed ? '' : ' (it lists no directories, as those of earlier sidebundle versions do not: directories were not checked)'}`
    : [...lines, `${target}: ${report.changed.length} changed, ${report.missing.length} missing, ${report.extra.length} extra (of ${report.checked + report.checkedDirs + report.missing.length} in manifest.lock)`].join('\n');
  reporter.result(human, { ok: report.ok, verify: report });
  return { reporter, status: report.ok ? 0 : 1 };
}
