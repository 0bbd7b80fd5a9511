// Where the fields the ELF reader trusts sit in a real (trusted) ELF64 file: the header, program
// headers, dynamic entries and version tables, for the fuzzer to aim boundary values at.
import type { Field } from './mutate';

const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const DT_VERDEF = 0x6ffffffcn;
const DT_VERNEED = 0x6ffffffen;
/** Enough of each chain to cover real tables without trusting a damaged base file. */
const MAX_WALK = 512;

export function elfFields(elf: Buffer): Field[] {
  const fields: Field[] = [
    { name: 'e_ident[EI_CLASS]', offset: 4, size: 1 }, { name: 'e_ident[EI_DATA]', offset: 5, size: 1 },
    { name: 'e_type', offset: 16, size: 2 }, { name: 'e_machine', offset: 18, size: 2 },
    { name: 'e_phoff', offset: 32, size: 8 }, { name: 'e_shoff', offset: 40, size: 8 },
    { name: 'e_phentsize', offset: 54, size: 2 }, { name: 'e_phnum', offset: 56, size: 2 },
  ];
  const phoff = Number(elf.readBigUInt64LE(32));
  const phnum = elf.readUInt16LE(56);
  const shoff = Number(elf.readBigUInt64LE(40));
  if (shoff > 0 && shoff + 64 <= elf.length) fields.push({ name: 'sh[0].sh_info', offset: shoff + 44, size: 4 });
  const loads: Array<{ offset: number; vaddr: number; filesz: number }> = [];
  let dynamic: { offset: number; filesz: number } | undefined;
  for (let i = 0; i < phnum && phoff + (i + 1) * 56 <= elf.length; i++) {
    const at = phoff + i * 56;
    fields.push(
      { name: `ph[${i}].p_type`, offset: at, size: 4 }, { name: `ph[${i}].p_offset`, offset: at + 8, size: 8 },
      { name: `ph[${i}].p_vaddr`, offset: at + 16, size: 8 }, { name: `ph[${i}].p_filesz`, offset: at + 32, size: 8 },
    );
    const segment = { offset: Number(elf.readBigUInt64LE(at + 8)), vaddr: Number(elf.readBigUInt64LE(at + 16)), filesz: Number(elf.readBigUInt64LE(at + 32)) };
    if (elf.readUInt32LE(at) === PT_LOAD) loads.push(segment);
    if (elf.readUInt32LE(at) === PT_DYNAMIC) dynamic = segment;
  }
  if (!dynamic) return fields;
  const toOffset = (address: number) => loads.find((s) => address >= s.vaddr && address < s.vaddr + s.filesz);
  for (let i = 0; i < Math.min(dynamic.filesz / 16, MAX_WALK) && dynamic.offset + (i + 1) * 16 <= elf.length; i++) {
    const at = dynamic.offset + i * 16;
    const tag = elf.readBigInt64LE(at);
    if (tag === 0n) break;
    fields.push({ name: `dyn[${i}].d_tag`, offset: at, size: 8 }, { name: `dyn[${i}].d_val`, offset: at + 8, size: 8 });
    const address = Number(elf.readBigUInt64LE(at + 8));
    const load = toOffset(address);
    if (!load) continue;
    const table = address - load.vaddr + load.offset;
    if (tag === DT_VERNEED) fields.push(...verneedFields(elf, table));
    if (tag === DT_VERDEF) fields.push(...verdefFields(elf, table));
  }
  return fields;
}

function verneedFields(elf: Buffer, start: number): Field[] {
  const fields: Field[] = [];
  for (let at = start, n = 0; at + 16 <= elf.length && n < MAX_WALK; n++) {
    fields.push(
      { name: 'vn_cnt', offset: at + 2, size: 2 }, { name: 'vn_file', offset: at + 4, size: 4 },
      { name: 'vn_aux', offset: at + 8, size: 4 }, { name: 'vn_next', offset: at + 12, size: 4 },
    );
    for (let aux = at + elf.readUInt32LE(at + 8), k = 0; k < elf.readUInt16LE(at + 2) && aux + 16 <= elf.length && k < MAX_WALK; k++) {
      fields.push({ name: 'vna_name', offset: aux + 8, size: 4 }, { name: 'vna_next', offset: aux + 12, size: 4 });
      const next = elf.readUInt32LE(aux + 12);
      if (next === 0) break;
      aux += next;
    }
    const next = elf.readUInt32LE(at + 12);
    if (next === 0) break;
    at += next;
  }
  return fields;
}

function verdefFields(elf: Buffer, start: number): Field[] {
  const fields: Field[] = [];
  for (let at = start, n = 0; at + 20 <= elf.length && n < MAX_WALK; n++) {
    fields.push(
      { name: 'vd_flags', offset: at + 2, size: 2 }, { name: 'vd_cnt', offset: at + 6, size: 2 },
      { name: 'vd_aux', offset: at + 12, size: 4 }, { name: 'vd_next', offset: at + 16, size: 4 },
    );
    const aux = at + elf.readUInt32LE(at + 12);
    if (aux + 8 <= elf.length) fields.push({ name: 'vda_name', offset: aux, size: 4 });
    const next = elf.readUInt32LE(at + 16);
    if (next === 0) break;
    at += next;
  }
  return fields;
}
