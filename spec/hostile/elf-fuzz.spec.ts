// A bounded run of the ELF fuzzer in every `npm test`: mutants of real programs and libraries
// (header, program headers, dynamic entries, version tables; flips, boundary values,
// truncations) must each parse or fail with a SidebundleError carrying an ELF_* code.
import { existsSync, readFileSync } from 'node:fs';

import { tempDir } from '../helpers/tmp';
import { elfFields } from './elf-fields';
import { fuzzElf, type FuzzBase } from './elf-fuzz';

const candidates = ['/usr/bin/jq', '/bin/ls', '/usr/lib/x86_64-linux-gnu/libstdc++.so.6', '/usr/lib/x86_64-linux-gnu/libc.so.6'];
const bases: FuzzBase[] = candidates.filter((p) => existsSync(p)).map((p) => ({ path: p, bytes: readFileSync(p) }));

describe('the ELF reader under mutation', () => {
  test('the bases have version tables for the fuzzer to aim at', () => {
    expect(bases.length).toBeGreaterThanOrEqual(2);
    for (const base of bases) {
      const names = new Set(elfFields(base.bytes).map((f) => f.name));
      expect(names).toContain('vn_next');
      expect(names).toContain('vna_next');
    }
    expect(bases.some((b) => elfFields(b.bytes).some((f) => f.name === 'vd_next'))).toBe(true);
  });

  test('1,500 mutants (seed 20261130) each parse or fail with an ELF_* SidebundleError', () => {
    const stats = fuzzElf({ bases, seed: 20261130, count: 1500, workDir: tempDir('sb-elf-fuzz-') });
    expect(stats.findings.map((f) => `${f.base} #${f.iteration}: ${f.outcome}`)).toEqual([]);
    expect(stats.runs).toBe(1500);
    // The run must exercise both sides, or it proves little.
    expect(stats.parsed).toBeGreaterThan(0);
    expect(stats.byCode.ELF_MALFORMED ?? 0).toBeGreaterThan(0);
  });
});
