// Hostile version tables, dynamic sections and strings, crafted byte by byte: each must be refused
// with a typed error after a walk bounded by the bytes that hold it (the 65,535 x 65,535 file
// once ran for 11 minutes at 4.3 GB). Each case starts from a table that parses and changes one
// field, so a case proves the rule it names, not some other defect of the fixture.
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';

import { readElf } from '../../../lib/elf';
import { MAX_NEEDED, MAX_VERSION_NEEDS } from '../../../lib/elf/limits';
import { SidebundleError } from '../../../lib/errors';
import { tempDir } from '../../helpers/tmp';
import { craftElf, DT, sharedAuxChain, StringTable, verdaux, verdef, vernaux, verneed, type CraftOptions } from '../../elf/craft';

const dir = tempDir('sb-elf-bounds-');
let written = 0;

function write(bytes: Buffer): string {
  const file = path.join(dir, `crafted-${written++}`);
  writeFileSync(file, bytes);
  return file;
}

/** The error readElf throws for `bytes` (failing the test if it parses or throws anything else). */
function errorOf(bytes: Buffer): SidebundleError {
  const file = write(bytes);
  try {
    readElf(file);
  } catch (error) {
    expect(error).toBeInstanceOf(SidebundleError);
    const typed = error as SidebundleError;
    expect(typed.input).toBe(file);
    expect(typed.message).toContain(file);
    expect(typed.hint).toBeTruthy();
    return typed;
  }
  throw new Error(`${file} parsed, but it should have been refused`);
}

/**
 * GNU ld's layout: libc.so.6 (GLIBC_2.2.5, GLIBC_2.34) at 0 with its entries at 16 and 32, then
 * libm.so.6 (GLIBC_2.29) at 48 with its entry at 64. Field offsets are what the cases change.
 */
function goodNeeds(strings: StringTable): Buffer {
  const libc = strings.index('libc.so.6');
  const libm = strings.index('libm.so.6');
  return Buffer.concat([
    verneed({ cnt: 2, file: libc, aux: 16, next: 48 }),
    vernaux({ name: strings.index('GLIBC_2.2.5'), next: 16 }),
    vernaux({ name: strings.index('GLIBC_2.34'), next: 0 }),
    verneed({ cnt: 1, file: libm, aux: 16, next: 0 }),
    vernaux({ name: strings.index('GLIBC_2.29'), next: 0 }),
  ]);
}
const GOOD_NEEDS = [{ file: 'libc.so.6', versions: ['GLIBC_2.2.5', 'GLIBC_2.34'] }, { file: 'libm.so.6', versions: ['GLIBC_2.29'] }];
const VN_CNT = 2;
const VN_NEXT = 12;
const VNA_NEXT = 12;

/** Leave DT_VERNEEDNUM / DT_VERDEFNUM out, so the walk follows the links alone. */
const NO_COUNT = 'none';

/** An object needing the good versions, with `edit` applied to the version-need table first. */
function withNeeds(edit: (table: Buffer) => void, count: number | typeof NO_COUNT = 2, extra: Partial<CraftOptions> = {}): Buffer {
  const strings = new StringTable();
  const table = goodNeeds(strings);
  edit(table);
  const verneed = { table, ...(count === NO_COUNT ? {} : { count }) };
  return craftElf({ strings, needed: ['libc.so.6', 'libm.so.6'], verneed, ...extra });
}

describe('the crafted fixture itself', () => {
  test('an untouched table parses to the versions it lays out', () => {
    const info = readElf(write(withNeeds(() => {})));
    expect(info.needed).toEqual(['libc.so.6', 'libm.so.6']);
    expect(info.versionNeeds).toEqual(GOOD_NEEDS);
  });

  test('without DT_VERNEEDNUM the chain is followed to its end', () => {
    expect(readElf(write(withNeeds(() => {}, NO_COUNT))).versionNeeds).toEqual(GOOD_NEEDS);
  });
});

describe('version needs: counts, links and totals are bounded by the table', () => {
  test('65,535 needs x 65,535 versions sharing one chain (the 2 MB attack) is malformed', () => {
    const strings = new StringTable();
    const attack = sharedAuxChain(strings, 65535, 65535);
    expect(attack.table.length).toBe(2 * 65535 * 16);
    expect(attack.table.readUInt16LE(VN_CNT)).toBe(65535);
    const error = errorOf(craftElf({ strings, needed: ['libc.so.6'], verneed: attack }));
    expect(error.code).toBe('ELF_MALFORMED');
    expect(error.message).toMatch(/DT_VERNEEDNUM is 65535, more than the 4096/);
  });

  test('the same claims in the smallest file the format allows (one need, one version) are malformed', () => {
    // 65,535 needs x 65,535 versions declared over 32 bytes of table.
    const error = errorOf(withNeeds((t) => t.writeUInt16LE(65535, VN_CNT), 65535));
    expect(error.code).toBe('ELF_MALFORMED');
  });

  test('needs that share one chain of versions are caught when the chain is reached again', () => {
    // Within the caps (4096 needs), so only the no-revisit rule stops the 4096 x 4096 walk.
    const strings = new StringTable();
    const attack = sharedAuxChain(strings, MAX_VERSION_NEEDS, 4096);
    const error = errorOf(craftElf({ strings, needed: ['libc.so.6'], verneed: attack }));
    expect(error.code).toBe('ELF_MALFORMED');
    expect(error.message).toMatch(/reached twice/);
  });

  test('a DT_VERNEEDNUM the table cannot hold is malformed', () => {
    const error = errorOf(withNeeds(() => {}, MAX_VERSION_NEEDS));
    expect(error.code).toBe('ELF_MALFORMED');
    expect(error.message).toMatch(/DT_VERNEEDNUM claims 4096 entries, more than the \d+ bytes/);
  });

  test('a vn_cnt the table cannot hold is malformed', () => {
    const error = errorOf(withNeeds((t) => t.writeUInt16LE(60000, 48 + VN_CNT)));
    expect(error.code).toBe('ELF_MALFORMED');
    expect(error.message).toMatch(/libm\.so\.6 claims 60000 entries/);
  });

  test('a vn_next that points back (0xfffffff0, -16 in 32-bit arithmetic) lands outside the table', () => {
    const error = errorOf(withNeeds((t) => t.writeUInt32LE(0xfffffff0, 48 + VN_NEXT), NO_COUNT));
    expect(error.code).toBe('ELF_MALFORMED');
    expect(error.message).toMatch(/version-need entry at offset \d+ lies outside/);
  });

  test('a vn_next cycle onto an entry already read is malformed', () => {
    // libc's need links to its own second version entry (offset 32), read once already.
    const error = errorOf(withNeeds((t) => t.writeUInt32LE(32, VN_NEXT), NO_COUNT));
    expect(error.code).toBe('ELF_MALFORMED');
    expect(error.message).toMatch(/reached twice/);
  });

  test('a vna_next cycle onto an entry already read is malformed', () => {
    // lld's layout, needs first: libc's one version is at 48; libm's first (at 32) links on to 48.
    const needs = (libmCount: number, link: number): Buffer => {
      const strings = new StringTable();
      const table = Buffer.concat([
        verneed({ cnt: 1, file: strings.index('libc.so.6'), aux: 48, next: 16 }),
        verneed({ cnt: libmCount, file: strings.index('libm.so.6'), aux: 16, next: 0 }),
        vernaux({ name: strings.index('GLIBC_2.29'), next: link }),
        vernaux({ name: strings.index('GLIBC_2.2.5'), next: 0 }),
      ]);
      return craftElf({ strings, verneed: { table, count: 2 } });
    };
    expect(readElf(write(needs(1, 0))).versionNeeds).toEqual([
      { file: 'libc.so.6', versions: ['GLIBC_2.2.5'] }, { file: 'libm.so.6', versions: ['GLIBC_2.29'] },
    ]);
    const error = errorOf(needs(2, 16));
    expect(error.code).toBe('ELF_MALFORMED');
    expect(error.message).toMatch(/auxiliary entry at offset \d+ is reached twice/);
  });

  test('a vna_next that points back (0xfffffff0) lands outside the table', () => {
    const error = errorOf(withNeeds((t) => t.writeUInt32LE(0xfffffff0, 16 + VNA_NEXT)));
    expect(error.code).toBe('ELF_MALFORMED');
    expect(error.message).toMatch(/auxiliary entry at offset \d+ lies outside/);
  });

  test('a vna_next shorter than an entry (overlapping entries) is malformed', () => {
    const error = errorOf(withNeeds((t) => t.writeUInt32LE(4, 16 + VNA_NEXT)));
    expect(error.code).toBe('ELF_MALFORMED');
    expect(error.message).toMatch(/inside itself/);
  });

  test('a DT_VERNEED outside every loadable segment is malformed', () => {
    const error = errorOf(withNeeds(() => {}, 2, { verneed: undefined, dynamic: [[DT.VERNEED, 1 << 30]] }));
    expect(error.code).toBe('ELF_MALFORMED');
    expect(error.message).toMatch(/DT_VERNEED address 0x40000000 is not inside any loadable segment/);
  });

  test('a table past the end of the file, inside a segment that claims more bytes than the file has, is truncated', () => {
    const strings = new StringTable();
    const table = goodNeeds(strings);
    const bytes = craftElf({ strings, needed: ['libc.so.6'], verneed: { table, count: 2, address: 1 << 20 }, loadFilesz: 2 << 20 });
    expect(bytes.length).toBeLessThan(1 << 20);
    expect(errorOf(bytes).code).toBe('ELF_TRUNCATED');
  });
});

describe('version definitions: the same discipline', () => {
  function withDefs(edit: (table: Buffer) => void, count: number | typeof NO_COUNT = 2): Buffer {
    const strings = new StringTable();
    const table = Buffer.concat([
      verdef({ flags: 1, ndx: 1, aux: 20, next: 28 }), verdaux({ name: strings.index('libfoo.so.1'), next: 0 }),
      verdef({ ndx: 2, aux: 20, next: 0 }), verdaux({ name: strings.index('FOO_1.0'), next: 0 }),
    ]);
    edit(table);
    return craftElf({ strings, verdef: { table, ...(count === NO_COUNT ? {} : { count }) } });
  }

  test('an untouched table parses (the base entry is left out)', () => {
    expect(readElf(write(withDefs(() => {}))).versionDefs).toEqual(['FOO_1.0']);
  });

  test('a DT_VERDEFNUM the table cannot hold is malformed', () => {
    expect(errorOf(withDefs(() => {}, 65535)).code).toBe('ELF_MALFORMED');
    expect(errorOf(withDefs(() => {}, 0xffffffff)).code).toBe('ELF_MALFORMED');
  });

  test('a vd_next that points back lands outside the table', () => {
    expect(errorOf(withDefs((t) => t.writeUInt32LE(0xffffffe4, 28 + 16), NO_COUNT)).message).toMatch(/lies outside/);
  });

  test('a vd_aux past the table is malformed', () => {
    expect(errorOf(withDefs((t) => t.writeUInt32LE(1 << 20, 28 + 12))).code).toBe('ELF_MALFORMED');
  });
});

describe('dynamic entries, program headers and strings are bounded too', () => {
  test(`more than ${MAX_NEEDED} DT_NEEDED entries is malformed`, () => {
    const strings = new StringTable();
    const name = strings.index('libc.so.6');
    const dynamic = Array.from({ length: MAX_NEEDED + 1 }, (): [number, number] => [DT.NEEDED, name]);
    expect(errorOf(craftElf({ strings, dynamic })).message).toMatch(/more than 4096 DT_NEEDED/);
  });

  test('many entries naming one long string exhaust the string budget instead of memory', () => {
    // 4,000 x 60 KB would be 240 MB of strings; the budget stops it after 1 MB.
    const strings = new StringTable();
    const long = strings.index('x'.repeat(60 * 1024));
    const dynamic = Array.from({ length: 4000 }, (): [number, number] => [DT.NEEDED, long]);
    expect(errorOf(craftElf({ strings, dynamic })).message).toMatch(/more than 1048576 bytes of strings/);
  });

  test('a string without a NUL within 64 KiB is malformed', () => {
    const strings = new StringTable();
    const long = strings.index('x'.repeat(70 * 1024));
    expect(errorOf(craftElf({ strings, dynamic: [[DT.SONAME, long]] })).message).toMatch(/not NUL-terminated/);
  });

  test('more program headers than the kernel loads is malformed', () => {
    const strings = new StringTable();
    const bytes = craftElf({ strings, needed: ['libc.so.6'] });
    bytes.writeUInt16LE(65534, 56);
    expect(errorOf(bytes).message).toMatch(/65534 program headers; the kernel loads at most 1170/);
  });

  test('a PT_DYNAMIC larger than the file is truncated', () => {
    const strings = new StringTable();
    const bytes = craftElf({ strings, needed: ['libc.so.6'] });
    bytes.writeBigUInt64LE(1n << 40n, 64 + 56 + 32); // p_filesz of PT_DYNAMIC
    expect(errorOf(bytes).code).toBe('ELF_TRUNCATED');
  });
});
