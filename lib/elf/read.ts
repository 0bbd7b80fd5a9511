// A fast ELF reader for what a dynamic loader needs: header, program headers, PT_INTERP,
// PT_DYNAMIC (NEEDED, RPATH, RUNPATH, SONAME, FLAGS_1) and the symbol-version tables.
// It reads only the bytes it needs through a file handle (never the whole file, never the
// symbol tables), and checks every offset and count against the file size, so a malformed
// or hostile file gives a typed error instead of a crash, a huge allocation or a hang.
// Reads are synchronous on purpose: a handful of page reads per file, and a thread-pool hop per
// read made the closure of a 30-library program ten times slower (measured: 200 files x 3 reads,
// 67 ms async vs 5 ms sync).
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

import { SidebundleError, errnoCode } from '../errors';
import * as C from './constants';
import type { ElfInfo, VersionNeed } from './types';

const PAGE = 4096;
/** Longest string we accept from the dynamic string table (RPATHs are the long ones). */
const MAX_STRING = 64 * 1024;
/** Upper bound on table walks (program headers are bounded by e_phnum; chains are not). */
const MAX_CHAIN = 65536;

/** Random access to a file in page-sized, cached reads. */
class PagedFile {
  private readonly pages = new Map<number, Buffer>();

  constructor(
    private readonly fd: number,
    readonly size: number,
    private readonly path: string,
  ) {}

  read(offset: number, length: number, what: string): Buffer {
    if (offset < 0 || length < 0 || offset + length > this.size) {
      throw truncated(this.path, `${what} (bytes ${offset}..${offset + length}) lies past the end of the file (${this.size} bytes)`);
    }
    const out = Buffer.allocUnsafe(length);
    let done = 0;
    while (done < length) {
      const at = offset + done;
      const page = this.page(Math.floor(at / PAGE));
      const within = at % PAGE;
      done += page.copy(out, done, within, Math.min(page.length, within + (length - done)));
    }
    return out;
  }

  /** A NUL-terminated string starting at `offset`, not reaching past `limit`. */
  cstring(offset: number, limit: number, what: string): string {
    const end = Math.min(limit, this.size, offset + MAX_STRING);
    if (offset < 0 || offset >= end) throw malformed(this.path, `${what} starts outside its table (offset ${offset})`);
    const parts: Buffer[] = [];
    for (let at = offset; at < end; ) {
      const page = this.page(Math.floor(at / PAGE));
      const within = at % PAGE;
      const stop = Math.min(page.length, within + (end - at));
      const nul = page.indexOf(0, within);
      if (nul !== -1 && nul < stop) {
        parts.push(page.subarray(within, nul));
        return Buffer.concat(parts).toString('utf8');
      }
      parts.push(page.subarray(within, stop));
      at += stop - within;
    }
    throw malformed(this.path, `${what} at offset ${offset} is not NUL-terminated within its table`);
  }

  private page(index: number): Buffer {
    let page = this.pages.get(index);
    if (page === undefined) {
      const start = index * PAGE;
      const length = Math.min(PAGE, this.size - start);
      page = Buffer.allocUnsafe(length);
      const bytesRead = readSync(this.fd, page, 0, length, start);
      if (bytesRead !== length) throw truncated(this.path, `short read at offset ${start}`);
      this.pages.set(index, page);
    }
    return page;
  }
}

interface Segment {
  type: number;
  offset: number;
  vaddr: number;
  filesz: number;
}

/** Read the loader-relevant facts of an ELF64 little-endian x86-64 file. */
export function readElf(path: string): ElfInfo {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    throw new SidebundleError('ELF_OPEN_FAILED', `cannot open ${path}: ${(error as Error).message}`, {
      input: path,
      kind: 'input',
      hint: errnoCode(error) === 'ENOENT' ? 'check the path' : 'check that the file is readable',
      cause: error,
    });
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) {
      throw new SidebundleError('ELF_NOT_ELF', `${path} is not a regular file`, { input: path, kind: 'input' });
    }
    return parse(new PagedFile(fd, stat.size, path), path);
  } finally {
    closeSync(fd);
  }
}

/** True if the file starts with the ELF magic (cheap check for classification). */
export function hasElfMagic(head: Buffer): boolean {
  return head.length >= 4 && head[0] === 0x7f && head[1] === 0x45 && head[2] === 0x4c && head[3] === 0x46;
}

function parse(file: PagedFile, path: string): ElfInfo {
  if (file.size < 4) throw notElf(path, 'it is too short to be an ELF file');
  const ident = file.read(0, Math.min(C.EHDR_SIZE, file.size), 'ELF header');
  if (!hasElfMagic(ident)) throw notElf(path, 'it does not start with the ELF magic bytes');
  if (ident[4] !== C.ELFCLASS64) {
    const what = ident[4] === C.ELFCLASS32 ? '32-bit' : `class ${ident[4]}`;
    throw unsupported(path, `it is a ${what} ELF file; sidebundle supports 64-bit x86-64 only`);
  }
  if (ident[5] !== C.ELFDATA2LSB) throw unsupported(path, 'it is a big-endian ELF file; sidebundle supports x86-64 only');
  if (ident.length < C.EHDR_SIZE) throw truncated(path, 'the ELF header is incomplete');

  const type = ident.readUInt16LE(16);
  const machine = ident.readUInt16LE(18);
  if (machine !== C.EM_X86_64) {
    throw unsupported(path, `it is built for ${C.MACHINE_NAMES[machine] ?? `machine ${machine}`}; sidebundle supports x86-64 only`);
  }
  if (type !== C.ET_EXEC && type !== C.ET_DYN) {
    throw unsupported(path, `it is an ELF ${type === 1 ? 'relocatable object (.o)' : type === 4 ? 'core dump' : `file of type ${type}`}, not an executable or shared library`);
  }

  const segments = readSegments(file, ident, path);
  const info: ElfInfo = {
    type: type === C.ET_EXEC ? 'exec' : 'dyn',
    hasDynamic: false,
    needed: [],
    flags1: 0,
    versionNeeds: [],
    versionDefs: [],
  };

  const interp = segments.find((s) => s.type === C.PT_INTERP);
  if (interp) {
    if (interp.filesz === 0) throw malformed(path, 'PT_INTERP is empty');
    info.interpreter = file.cstring(interp.offset, interp.offset + interp.filesz, 'PT_INTERP');
  }

  const dynamic = segments.find((s) => s.type === C.PT_DYNAMIC);
  if (dynamic) {
    info.hasDynamic = true;
    readDynamic(file, dynamic, segments, info, path);
  }
  return info;
}

function readSegments(file: PagedFile, header: Buffer, path: string): Segment[] {
  const phoff = u64(header, 32, path, 'e_phoff');
  const phentsize = header.readUInt16LE(54);
  let phnum = header.readUInt16LE(56);
  if (phnum === 0) return [];
  if (phentsize !== C.PHDR_SIZE) throw malformed(path, `e_phentsize is ${phentsize}, expected ${C.PHDR_SIZE}`);
  if (phnum === C.PN_XNUM) {
    // The real count lives in sh_info of section header 0.
    const shoff = u64(header, 40, path, 'e_shoff');
    const sh0 = file.read(shoff, C.SHDR_SIZE, 'section header 0');
    phnum = sh0.readUInt32LE(44);
  }
  const table = file.read(phoff, phnum * C.PHDR_SIZE, 'the program header table');
  const segments: Segment[] = [];
  for (let i = 0; i < phnum; i++) {
    const at = i * C.PHDR_SIZE;
    const segment = {
      type: table.readUInt32LE(at),
      offset: u64(table, at + 8, path, 'p_offset'),
      vaddr: u64(table, at + 16, path, 'p_vaddr'),
      filesz: u64(table, at + 32, path, 'p_filesz'),
    };
    if (segment.type === C.PT_INTERP || segment.type === C.PT_DYNAMIC) {
      if (segment.offset + segment.filesz > file.size) {
        throw truncated(path, `segment ${segment.type === C.PT_INTERP ? 'PT_INTERP' : 'PT_DYNAMIC'} ends past the end of the file`);
      }
    }
    segments.push(segment);
  }
  return segments;
}

interface DynamicTags {
  needed: number[];
  rpath?: number;
  runpath?: number;
  soname?: number;
  strtab?: number;
  strsz?: number;
  verneed?: number;
  verneednum?: number;
  verdef?: number;
  verdefnum?: number;
}

function readDynamic(file: PagedFile, dynamic: Segment, segments: Segment[], info: ElfInfo, path: string): void {
  const count = Math.floor(dynamic.filesz / C.DYN_SIZE);
  const raw = file.read(dynamic.offset, count * C.DYN_SIZE, 'the dynamic section');
  const tags: DynamicTags = { needed: [] };
  for (let i = 0; i < count; i++) {
    const tag = Number(raw.readBigInt64LE(i * C.DYN_SIZE));
    if (tag === C.DT_NULL) break;
    const value = u64(raw, i * C.DYN_SIZE + 8, path, 'd_val');
    switch (tag) {
      case C.DT_NEEDED: tags.needed.push(value); break;
      case C.DT_RPATH: tags.rpath = value; break;
      case C.DT_RUNPATH: tags.runpath = value; break;
      case C.DT_SONAME: tags.soname = value; break;
      case C.DT_STRTAB: tags.strtab = value; break;
      case C.DT_STRSZ: tags.strsz = value; break;
      case C.DT_FLAGS_1: info.flags1 = value; break;
      case C.DT_VERNEED: tags.verneed = value; break;
      case C.DT_VERNEEDNUM: tags.verneednum = value; break;
      case C.DT_VERDEF: tags.verdef = value; break;
      case C.DT_VERDEFNUM: tags.verdefnum = value; break;
    }
  }

  const usesStrings = tags.needed.length > 0 || tags.rpath !== undefined || tags.runpath !== undefined ||
    tags.soname !== undefined || tags.verneed !== undefined || tags.verdef !== undefined;
  if (!usesStrings) return;
  if (tags.strtab === undefined) throw malformed(path, 'the dynamic section names strings but has no DT_STRTAB');
  const strtab = addressToOffset(tags.strtab, segments, path, 'DT_STRTAB');
  const strEnd = Math.min(file.size, strtab + (tags.strsz ?? file.size));
  const str = (index: number, what: string) => file.cstring(strtab + index, strEnd, what);

  for (const index of tags.needed) info.needed.push(str(index, 'a DT_NEEDED name'));
  if (tags.rpath !== undefined) info.rpath = str(tags.rpath, 'DT_RPATH');
  if (tags.runpath !== undefined) info.runpath = str(tags.runpath, 'DT_RUNPATH');
  if (tags.soname !== undefined) info.soname = str(tags.soname, 'DT_SONAME');
  if (tags.verneed !== undefined) {
    info.versionNeeds = readVersionNeeds(file, addressToOffset(tags.verneed, segments, path, 'DT_VERNEED'), tags.verneednum, str);
  }
  if (tags.verdef !== undefined) {
    info.versionDefs = readVersionDefs(file, addressToOffset(tags.verdef, segments, path, 'DT_VERDEF'), tags.verdefnum, str);
  }
}

type StringAt = (index: number, what: string) => string;

function readVersionNeeds(file: PagedFile, offset: number, declared: number | undefined, str: StringAt): VersionNeed[] {
  const needs: VersionNeed[] = [];
  const limit = Math.min(declared ?? MAX_CHAIN, MAX_CHAIN);
  let at = offset;
  for (let n = 0; n < limit; n++) {
    const entry = file.read(at, C.VERNEED_SIZE, 'a version-need entry');
    const cnt = entry.readUInt16LE(2);
    const need: VersionNeed = { file: str(entry.readUInt32LE(4), 'a version-need file name'), versions: [] };
    let auxAt = at + entry.readUInt32LE(8);
    for (let k = 0; k < cnt; k++) {
      const aux = file.read(auxAt, C.VERNAUX_SIZE, 'a version-need auxiliary entry');
      need.versions.push(str(aux.readUInt32LE(8), 'a needed version name'));
      const next = aux.readUInt32LE(12);
      if (next === 0) break;
      auxAt += next;
    }
    needs.push(need);
    const next = entry.readUInt32LE(12);
    if (next === 0) break;
    at += next;
  }
  return needs;
}

function readVersionDefs(file: PagedFile, offset: number, declared: number | undefined, str: StringAt): string[] {
  const defs: string[] = [];
  const limit = Math.min(declared ?? MAX_CHAIN, MAX_CHAIN);
  let at = offset;
  for (let n = 0; n < limit; n++) {
    const entry = file.read(at, C.VERDEF_SIZE, 'a version-definition entry');
    const flags = entry.readUInt16LE(2);
    const cnt = entry.readUInt16LE(6);
    if (cnt > 0 && (flags & C.VER_FLG_BASE) === 0) {
      const aux = file.read(at + entry.readUInt32LE(12), C.VERDAUX_SIZE, 'a version-definition auxiliary entry');
      defs.push(str(aux.readUInt32LE(0), 'a defined version name'));
    }
    const next = entry.readUInt32LE(16);
    if (next === 0) break;
    at += next;
  }
  return defs;
}

/** Translate a virtual address from the dynamic section to a file offset through PT_LOAD. */
function addressToOffset(address: number, segments: Segment[], path: string, what: string): number {
  for (const s of segments) {
    if (s.type === C.PT_LOAD && address >= s.vaddr && address < s.vaddr + s.filesz) {
      return address - s.vaddr + s.offset;
    }
  }
  throw malformed(path, `${what} address 0x${address.toString(16)} is not inside any loadable segment`);
}

function u64(buffer: Buffer, at: number, path: string, what: string): number {
  const value = buffer.readBigUInt64LE(at);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw malformed(path, `${what} is out of range (0x${value.toString(16)})`);
  return Number(value);
}

function notElf(path: string, why: string): SidebundleError {
  return new SidebundleError('ELF_NOT_ELF', `${path} is not an ELF program: ${why}`, {
    input: path,
    kind: 'input',
    hint: 'give a dynamically linked x86-64 executable, or a script starting with #!',
  });
}

function unsupported(path: string, why: string): SidebundleError {
  return new SidebundleError('ELF_UNSUPPORTED', `${path} cannot be bundled: ${why}`, {
    input: path,
    kind: 'input',
    hint: 'sidebundle bundles 64-bit x86-64 Linux programs',
  });
}

function truncated(path: string, why: string): SidebundleError {
  return new SidebundleError('ELF_TRUNCATED', `${path} is a truncated ELF file: ${why}`, {
    input: path,
    kind: 'input',
    hint: 'the file is incomplete; copy it again from its source',
  });
}

function malformed(path: string, why: string): SidebundleError {
  return new SidebundleError('ELF_MALFORMED', `${path} is a malformed ELF file: ${why}`, {
    input: path,
    kind: 'input',
    hint: 'the file is damaged or not produced by a linker sidebundle understands',
  });
}
