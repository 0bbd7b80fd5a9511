export { readElf, hasElfMagic } from './read';
export type { ElfInfo, VersionNeed } from './types';
export { DF_1_NODEFLIB } from './constants';
export { ELF_ERROR_CODES, type ElfErrorCode } from './problems';
