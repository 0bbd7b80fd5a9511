// collectionKey(): the closures as collection decides on them. A script's or data file's bytes
// are not part of it (collection reads what it looks into through the root, and the cached run
// checks those reads); anything a family decides on from the closure itself is.
import type { ClosureFile, ResolvedClosure } from '../../../lib/model/closure';
import { collectionKey } from '../../../lib/steps/groups';

const file = (over: Partial<ClosureFile>): ClosureFile => ({ path: '/x', size: 10, mode: 0o644, sha256: 'a'.repeat(64), kind: 'data', reasons: [], ...over });

function closure(files: ClosureFile[]): ResolvedClosure {
  return {
    schema: 'sidebundle/closure@1',
    root: '/',
    entries: [{ name: 'report.sh', path: '/app/report.sh', target: '/app/report.sh', kind: 'script', script: { interpreter: '/usr/bin/dash', interpreterPath: '/bin/sh', args: [] } }],
    files,
    symlinks: [],
    missing: [],
    excluded: [],
    diagnostics: [],
  };
}

const script = file({ path: '/app/report.sh', kind: 'script', mode: 0o755, reasons: [{ kind: 'entry', entry: 'report.sh' }] });
const python = file({ path: '/usr/bin/python3.11', kind: 'elf', mode: 0o755, size: 6_000_000, sha256: 'b'.repeat(64), elf: { needed: ['libc.so.6'], versionNeeds: [] } as unknown as ClosureFile['elf'] });
const key = (files: ClosureFile[]) => collectionKey([closure(files)]);

test("a script's or data file's new bytes and size keep the key", () => {
  expect(key([script, python])).toBe(key([{ ...script, sha256: 'c'.repeat(64), size: 99 }, python]));
  expect(key([script, file({ path: '/app/data.json' })])).toBe(key([script, file({ path: '/app/data.json', sha256: 'd'.repeat(64), size: 1 })]));
});

test("an ELF file's bytes or size, a path, a kind, a mode, a reason or an entry change it", () => {
  const before = key([script, python]);
  expect(key([script, { ...python, sha256: 'e'.repeat(64) }])).not.toBe(before);
  expect(key([script, { ...python, size: 1 }])).not.toBe(before);
  expect(key([{ ...script, path: '/app/other.sh' }, python])).not.toBe(before);
  expect(key([{ ...script, kind: 'data' }, python])).not.toBe(before);
  expect(key([{ ...script, mode: 0o644 }, python])).not.toBe(before);
  expect(key([{ ...script, reasons: [{ kind: 'traced', entry: 'report.sh', command: '/app/report.sh', op: 'open' }] }, python])).not.toBe(before);
  expect(key([script, python, file({ path: '/etc/hostname' })])).not.toBe(before);
  const other = closure([script, python]);
  other.entries[0]!.script!.interpreter = '/usr/bin/bash';
  expect(collectionKey([other])).not.toBe(before);
});
