// How much of one file the ELF reader is willing to walk. A hostile file can declare counts and
// chains that would take hours to follow (65,535 version needs x 65,535 entries each), so every
// walk is bounded by the bytes that hold it and by these totals. Each is far above real binaries:
// across the 2,566 ELF files of a Debian 12 /usr, the most were 21 DT_NEEDED (gdb), 13 version
// needs (libsystemd-shared), 50 needed versions (gdb), 62 defined versions (libnss3) and 1.2 KB
// of dynamic strings (libncurses).

/** The kernel refuses program header tables over 64 KiB (fs/binfmt_elf.c, elf_read_phdrs). */
export const MAX_PHDR_BYTES = 64 * 1024;
/** Entries of the dynamic section (a real one has a few dozen). */
export const MAX_DYNAMIC_ENTRIES = 65536;
/** DT_NEEDED entries of one object. */
export const MAX_NEEDED = 4096;
/** Version-need entries (one per library versions are needed from). */
export const MAX_VERSION_NEEDS = 4096;
/** Needed versions in total, over all version-need entries. */
export const MAX_NEEDED_VERSIONS = 65536;
/** Version-definition entries. */
export const MAX_VERSION_DEFS = 65536;
/** Longest single string (RPATHs are the long ones). */
export const MAX_STRING = 64 * 1024;
/** Bytes of strings read from the dynamic string table, over the whole file. */
export const MAX_STRING_BYTES = 1024 * 1024;
