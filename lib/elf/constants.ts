// ELF constants used by the reader (values from the System V gABI and glibc's elf.h).

export const ELFCLASS32 = 1;
export const ELFCLASS64 = 2;
export const ELFDATA2LSB = 1;

export const ET_EXEC = 2;
export const ET_DYN = 3;

export const EM_X86_64 = 62;

/** Names for machines people actually hand us by mistake. */
export const MACHINE_NAMES: Record<number, string> = {
  3: 'i386',
  8: 'MIPS',
  20: 'PowerPC',
  21: 'PowerPC64',
  22: 's390',
  40: 'ARM',
  62: 'x86-64',
  183: 'AArch64',
  243: 'RISC-V',
  258: 'LoongArch',
};

export const PT_LOAD = 1;
export const PT_DYNAMIC = 2;
export const PT_INTERP = 3;
export const PN_XNUM = 0xffff;

export const DT_NULL = 0;
export const DT_NEEDED = 1;
export const DT_STRTAB = 5;
export const DT_STRSZ = 10;
export const DT_SONAME = 14;
export const DT_RPATH = 15;
export const DT_RUNPATH = 29;
export const DT_FLAGS_1 = 0x6ffffffb;
export const DT_VERDEF = 0x6ffffffc;
export const DT_VERDEFNUM = 0x6ffffffd;
export const DT_VERNEED = 0x6ffffffe;
export const DT_VERNEEDNUM = 0x6fffffff;

export const DF_1_NODEFLIB = 0x800;
export const DF_1_PIE = 0x08000000;
export const VER_FLG_BASE = 0x1;

export const EHDR_SIZE = 64;
export const PHDR_SIZE = 56;
export const SHDR_SIZE = 64;
export const DYN_SIZE = 16;
export const VERNEED_SIZE = 16;
export const VERNAUX_SIZE = 16;
export const VERDEF_SIZE = 20;
export const VERDAUX_SIZE = 8;
