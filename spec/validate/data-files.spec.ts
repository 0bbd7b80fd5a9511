// The validator checks every ELF of a payload, whatever the plan calls it: a file the plan holds
// as data (--copy-dir, a traced read) or as a script (replaced by a program since resolve looked)
// that starts with the ELF magic is read as an ELF, and its libraries must be in the bundle;
// data and scripts without the magic are passed over without reading them as ELF (no error is
// built for them). Real binaries from this machine.
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

import type { MergedPlan, PlanFile } from '../../lib/model/plan';
import { validateBundle } from '../../lib/validate/validate';
import { tempDir } from '../helpers/tmp';

const dir = tempDir('sb-validate-data-');
const app = path.join(dir, 'payload/opt/app');
mkdirSync(app, { recursive: true });

function planFile(name: string, kind: PlanFile['kind']): PlanFile {
  return { path: `payload/opt/app/${name}`, source: path.join(app, name), sha256: '0'.repeat(64), size: 0, mode: 0o755, kind, reasons: [{ kind: 'copy-dir', source: '/opt/app' }] };
}

function plan(files: PlanFile[]): MergedPlan {
  return { schema: 'sidebundle/plan@1', name: 'v', roots: [{ root: '/', payload: 'payload' }], files, symlinks: [], dirs: [], launchers: [], shims: [], missing: [], excluded: [], conflicts: [], diagnostics: [] };
}

test('a data file with the ELF magic is validated as an ELF; other data and scripts are not', () => {
  copyFileSync('/usr/bin/curl', path.join(app, 'curl-copy')); // needs libcurl.so.4, not in the bundle
  writeFileSync(path.join(app, 'notes.txt'), 'plain text, long enough to have four bytes\n');
  writeFileSync(path.join(app, 'tiny'), '\x7fE'); // the start of the magic only
  writeFileSync(path.join(app, 'run.sh'), '#!/bin/sh\necho hi\n');
  const report = validateBundle(dir, plan([planFile('curl-copy', 'data'), planFile('notes.txt', 'data'), planFile('tiny', 'data'), planFile('run.sh', 'script')]));
  expect(report.checkedFiles).toBe(1);
  expect(report.ok).toBe(false);
  expect(report.issues.map((i) => [i.code, i.file])).toContainEqual(['MISSING_LIBRARY', 'payload/opt/app/curl-copy']);
  expect(report.issues.every((i) => i.file === 'payload/opt/app/curl-copy')).toBe(true);
});

test('a file the plan calls a script that is an ELF now (replaced since resolve) is validated as one', () => {
  copyFileSync('/usr/bin/curl', path.join(app, 'was-a-script'));
  const report = validateBundle(dir, plan([planFile('was-a-script', 'script')]));
  expect(report.checkedFiles).toBe(1);
  expect(report.issues.map((i) => [i.code, i.file])).toContainEqual(['MISSING_LIBRARY', 'payload/opt/app/was-a-script']);
});

test('a file the plan calls an ELF is read as one (and one that is not is passed over as before)', () => {
  copyFileSync('/usr/bin/curl', path.join(app, 'curl-elf'));
  writeFileSync(path.join(app, 'not-elf'), 'text the plan mislabels\n');
  const report = validateBundle(dir, plan([planFile('curl-elf', 'elf'), planFile('not-elf', 'elf')]));
  expect(report.checkedFiles).toBe(1);
  expect(report.issues.map((i) => [i.code, i.file])).toContainEqual(['MISSING_LIBRARY', 'payload/opt/app/curl-elf']);
});
