// The typed errors of the ELF reader: every one names the file and says what to do.
import { SidebundleError } from '../errors';

/** Every code readElf throws; anything else escaping it is a bug. */
export const ELF_ERROR_CODES = ['ELF_OPEN_FAILED', 'ELF_NOT_ELF', 'ELF_UNSUPPORTED', 'ELF_TRUNCATED', 'ELF_MALFORMED'] as const;
export type ElfErrorCode = (typeof ELF_ERROR_CODES)[number];

export function notElf(path: string, why: string): SidebundleError {
  return new SidebundleError('ELF_NOT_ELF', `${path} is not an ELF program: ${why}`, {
    input: path,
    kind: 'input',
    hint: 'give a dynamically linked x86-64 executable, or a script starting with #!',
  });
}

export function unsupported(path: string, why: string): SidebundleError {
  return new SidebundleError('ELF_UNSUPPORTED', `${path} cannot be bundled: ${why}`, {
    input: path,
    kind: 'input',
    hint: 'sidebundle bundles 64-bit x86-64 Linux programs',
  });
}

export function truncated(path: string, why: string): SidebundleError {
  return new SidebundleError('ELF_TRUNCATED', `${path} is a truncated ELF file: ${why}`, {
    input: path,
    kind: 'input',
    hint: 'the file is incomplete; copy it again from its source',
  });
}

export function malformed(path: string, why: string): SidebundleError {
  return new SidebundleError('ELF_MALFORMED', `${path} is a malformed ELF file: ${why}`, {
    input: path,
    kind: 'input',
    hint: 'the file is damaged, crafted, or not produced by a linker sidebundle understands',
  });
}
