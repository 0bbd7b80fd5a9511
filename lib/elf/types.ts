// What the ELF reader returns: the loader-relevant facts of one ELF64 x86-64 object.

export interface VersionNeed {
  /** The library the versions are needed from (a DT_NEEDED name, e.g. `libc.so.6`). */
  file: string;
  /** Version names, e.g. `GLIBC_2.34`. */
  versions: string[];
}

export interface ElfInfo {
  /** `exec` for ET_EXEC, `dyn` for ET_DYN (shared objects and PIE executables). */
  type: 'exec' | 'dyn';
  /** PT_INTERP: the program interpreter (dynamic loader) path, if any. */
  interpreter?: string;
  /** True when the object has a PT_DYNAMIC segment. */
  hasDynamic: boolean;
  /** DT_NEEDED names in file order. */
  needed: string[];
  /** DT_RPATH and DT_RUNPATH exactly as stored (colon-separated, unexpanded). */
  rpath?: string;
  runpath?: string;
  soname?: string;
  /** DT_FLAGS_1 (DF_1_NODEFLIB, DF_1_PIE, ...); 0 when absent. */
  flags1: number;
  /** Versions this object needs, per library (the version-need table). */
  versionNeeds: VersionNeed[];
  /** Versions this object defines (the version-definition table, without the base entry). */
  versionDefs: string[];
}
