// Builds minimal ELF64 x86-64 shared objects byte by byte, so tests of hostile input need no
// committed binaries: one PT_LOAD mapping the whole file at address 0 (an address is its file
// offset), a PT_DYNAMIC, a string table, and version tables exactly as the test lays them out.

const EHDR = 64;
const PHDR = 56;
const DYN = 16;

export const DT = {
  NULL: 0, NEEDED: 1, STRTAB: 5, STRSZ: 10, SONAME: 14,
  VERDEF: 0x6ffffffc, VERDEFNUM: 0x6ffffffd, VERNEED: 0x6ffffffe, VERNEEDNUM: 0x6fffffff,
} as const;

/** A dynamic string table; `index` says where a string starts (added on first use). */
export class StringTable {
  private readonly at = new Map<string, number>();
  private readonly parts: Buffer[] = [Buffer.from([0])];
  private size = 1;

  index(text: string): number {
    let index = this.at.get(text);
    if (index === undefined) {
      index = this.size;
      const bytes = Buffer.from(`${text}\0`);
      this.parts.push(bytes);
      this.size += bytes.length;
      this.at.set(text, index);
    }
    return index;
  }

  get buffer(): Buffer {
    return Buffer.concat(this.parts);
  }
}

export interface VersionTable {
  table: Buffer;
  /** DT_VERNEEDNUM / DT_VERDEFNUM; omitted from the dynamic section when undefined. */
  count?: number;
  /** Put DT_VERNEED / DT_VERDEF here instead of at the table (e.g. past the end of the file). */
  address?: number;
}

export interface CraftOptions {
  strings: StringTable;
  needed?: string[];
  verneed?: VersionTable;
  verdef?: VersionTable;
  /** p_filesz of the PT_LOAD (default: the whole file). */
  loadFilesz?: number;
  /** PT_INTERP, the program interpreter path. */
  interpreter?: string;
  /** Extra dynamic entries, before DT_NULL. */
  dynamic?: Array<[number, number]>;
}

/** An ET_DYN x86-64 object with the given dynamic string table and version tables. */
export function craftElf(options: CraftOptions): Buffer {
  const { strings } = options;
  const entries: Array<[number, number]> = (options.needed ?? []).map((name) => [DT.NEEDED, strings.index(name)]);
  const strtab = strings.buffer; // every index is taken by now: the tables were built with it
  const dynCount = entries.length + 2 + (options.verneed ? 2 : 0) + (options.verdef ? 2 : 0) + (options.dynamic?.length ?? 0) + 1;
  const interp = options.interpreter === undefined ? undefined : Buffer.from(`${options.interpreter}\0`);
  const phnum = interp ? 3 : 2;
  const dynAt = EHDR + phnum * PHDR;
  const strAt = dynAt + dynCount * DYN;
  const interpAt = strAt + strtab.length;
  const verneedAt = align8(interpAt + (interp?.length ?? 0));
  const verdefAt = align8(verneedAt + (options.verneed?.table.length ?? 0));
  const size = verdefAt + (options.verdef?.table.length ?? 0);

  entries.push([DT.STRTAB, strAt], [DT.STRSZ, strtab.length]);
  for (const [table, at, tag, numTag] of [
    [options.verneed, verneedAt, DT.VERNEED, DT.VERNEEDNUM],
    [options.verdef, verdefAt, DT.VERDEF, DT.VERDEFNUM],
  ] as const) {
    if (!table) continue;
    entries.push([tag, table.address ?? at]);
    if (table.count !== undefined) entries.push([numTag, table.count]);
  }
  entries.push(...(options.dynamic ?? []));
  entries.push([DT.NULL, 0]);

  const out = Buffer.alloc(size);
  out.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1], 0); // magic, ELFCLASS64, little-endian, version
  out.writeUInt16LE(3, 16); // ET_DYN
  out.writeUInt16LE(62, 18); // EM_X86_64
  out.writeUInt32LE(1, 20);
  out.writeBigUInt64LE(BigInt(EHDR), 32); // e_phoff
  out.writeUInt16LE(EHDR, 52);
  out.writeUInt16LE(PHDR, 54);
  out.writeUInt16LE(phnum, 56);
  writePhdr(out, EHDR, 1, 0, options.loadFilesz ?? size); // PT_LOAD
  writePhdr(out, EHDR + PHDR, 2, dynAt, dynCount * DYN); // PT_DYNAMIC
  if (interp) {
    writePhdr(out, EHDR + 2 * PHDR, 3, interpAt, interp.length); // PT_INTERP
    interp.copy(out, interpAt);
  }
  entries.forEach(([tag, value], i) => {
    out.writeBigInt64LE(BigInt(tag), dynAt + i * DYN);
    out.writeBigUInt64LE(BigInt(value), dynAt + i * DYN + 8);
  });
  strtab.copy(out, strAt);
  options.verneed?.table.copy(out, verneedAt);
  options.verdef?.table.copy(out, verdefAt);
  return out;
}

function writePhdr(out: Buffer, at: number, type: number, offset: number, filesz: number): void {
  out.writeUInt32LE(type, at);
  out.writeUInt32LE(4, at + 4); // PF_R
  out.writeBigUInt64LE(BigInt(offset), at + 8); // p_offset
  out.writeBigUInt64LE(BigInt(offset), at + 16); // p_vaddr = p_offset
  out.writeBigUInt64LE(BigInt(offset), at + 24); // p_paddr
  out.writeBigUInt64LE(BigInt(filesz), at + 32);
  out.writeBigUInt64LE(BigInt(filesz), at + 40);
  out.writeBigUInt64LE(0x1000n, at + 48);
}

function align8(n: number): number {
  return (n + 7) & ~7;
}

/** Elf64_Verneed: vn_version, vn_cnt, vn_file, vn_aux, vn_next (offsets relative to this entry). */
export function verneed(fields: { cnt: number; file: number; aux: number; next: number }): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt16LE(1, 0);
  b.writeUInt16LE(fields.cnt, 2);
  b.writeUInt32LE(fields.file, 4);
  b.writeUInt32LE(fields.aux, 8);
  b.writeUInt32LE(fields.next, 12);
  return b;
}

/** Elf64_Vernaux: vna_hash, vna_flags, vna_other, vna_name, vna_next. */
export function vernaux(fields: { name: number; next: number; other?: number }): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt16LE(fields.other ?? 2, 6);
  b.writeUInt32LE(fields.name, 8);
  b.writeUInt32LE(fields.next, 12);
  return b;
}

/** Elf64_Verdef: vd_version, vd_flags, vd_ndx, vd_cnt, vd_hash, vd_aux, vd_next. */
export function verdef(fields: { flags?: number; ndx: number; aux: number; next: number }): Buffer {
  const b = Buffer.alloc(20);
  b.writeUInt16LE(1, 0);
  b.writeUInt16LE(fields.flags ?? 0, 2);
  b.writeUInt16LE(fields.ndx, 4);
  b.writeUInt16LE(1, 6);
  b.writeUInt32LE(fields.aux, 12);
  b.writeUInt32LE(fields.next, 16);
  return b;
}

/** Elf64_Verdaux: vda_name, vda_next. */
export function verdaux(fields: { name: number; next: number }): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt32LE(fields.name, 0);
  b.writeUInt32LE(fields.next, 4);
  return b;
}

/**
 * The amplification attack: `needs` version-need entries that all point at one shared chain of
 * `auxes` auxiliary entries, each claiming `auxes` of them, so a reader that trusts the counts
 * walks needs x auxes entries from a file of (needs + auxes) x 16 bytes.
 */
export function sharedAuxChain(strings: StringTable, needs: number, auxes: number): VersionTable {
  const file = strings.index('libc.so.6');
  const name = strings.index('GLIBC_2.2.5');
  const records: Buffer[] = [];
  for (let k = 0; k < needs; k++) {
    records.push(verneed({ cnt: auxes, file, aux: (needs - k) * 16, next: k === needs - 1 ? 0 : 16 }));
  }
  for (let k = 0; k < auxes; k++) records.push(vernaux({ name, next: k === auxes - 1 ? 0 : 16 }));
  return { table: Buffer.concat(records), count: needs };
}
