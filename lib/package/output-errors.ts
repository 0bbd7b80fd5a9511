// A failed file operation in the output directory, said as what it is (no space, read-only,
// permission denied) with the directory named: never blamed on a source, never "a bug".
import { errnoCode, SidebundleError } from '../errors';

/** `error` as a SidebundleError about the output directory `out` (SidebundleErrors pass through;
 * an unknown errno stays as it is unless `doing` says what was being done). */
export function outputError(error: unknown, out: string, doing?: string): unknown {
  if (error instanceof SidebundleError) return error;
  const code = errnoCode(error);
  const detail = `${doing ?? `cannot write in the output directory ${out}`}: ${(error as Error).message}`;
  const make = (name: string, kind: 'input' | 'failure', hint: string) => new SidebundleError(name, detail, { input: out, kind, hint, cause: error });
  switch (code) {
    case 'ENOSPC':
    case 'EDQUOT':
      return make('OUTPUT_NO_SPACE', 'failure', `free space on the file system of ${out} (or choose another --out-dir); the previous bundle was kept`);
    case 'EROFS':
      return make('OUTPUT_READ_ONLY', 'input', `${out} is on a read-only file system; choose an --out-dir on a writable one`);
    case 'EACCES':
    case 'EPERM':
      return make('OUTPUT_UNWRITABLE', 'input', `you may not write in ${out}; choose an --out-dir you can write to`);
    case 'ENOTDIR':
    case 'EEXIST':
      return make('OUTPUT_NOT_A_DIRECTORY', 'input', `${out} (or a directory above it) is not a directory; choose another --out-dir`);
    default:
      return doing === undefined ? error : make('OUTPUT_UNWRITABLE', 'input', 'choose an --out-dir you can write to');
  }
}
