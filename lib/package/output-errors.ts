// A failed file operation in the output directory, said as what it is (no space, read-only,
// permission denied) with the directory named: never blamed on a source, never "a bug". Which
// errno means which: the one table in errors.ts.
import { fromSystemError, fromWriteDirError, SidebundleError, type DirectoryFault } from '../errors';

const hints = (out: string, option: string): Record<DirectoryFault, string> => ({
  NO_SPACE: `free space on the file system of ${out} (or choose another ${option})${option === '--out-dir' ? '; the previous bundle was kept' : ''}`,
  READ_ONLY: `${out} is on a read-only file system; choose an ${option} on a writable one`,
  UNWRITABLE: `you may not write in ${out}; choose an ${option} you can write to`,
  NOT_A_DIRECTORY: `${out} (or a directory above it) is not a directory; choose another ${option}`,
});

/** `error` as a SidebundleError about the output directory `out` (SidebundleErrors pass through).
 * An errno that says nothing about the directory stays as it is, unless `doing` says the failed
 * operation was in it: then its general meaning (errors.ts), else OUTPUT_UNWRITABLE. `option`:
 * the one that chose `out`, named in the hints. */
export function outputError(error: unknown, out: string, doing?: string, option = '--out-dir'): unknown {
  if (error instanceof SidebundleError) return error;
  const message = `${doing ?? `cannot write in the output directory ${out}`}: ${(error as Error).message}`;
  const specific = fromWriteDirError(error, { dir: out, prefix: 'OUTPUT', message, hints: hints(out, option) });
  if (specific || doing === undefined) return specific ?? error;
  return fromSystemError(error) ?? new SidebundleError('OUTPUT_UNWRITABLE', message, { input: out, kind: 'input', hint: `choose an ${option} you can write to`, cause: error });
}
