// Names that become file names in a bundle (bin/NAME, runtime/entries/NAME.json) or words in a
// generated sh launcher. Checked where they enter (entry specs, sidebundle.json, the API) so a
// name can never point a write outside the bundle or break out of a launcher line.
import { SidebundleError } from '../errors';

/** NAME.json must still fit in one file name (255 bytes). */
const MAX_NAME_BYTES = 250;

/** Why `name` cannot be an entry's launcher name, or undefined when it can. */
export function entryNameProblem(name: string): string | undefined {
  if (name === '') return 'it is empty';
  if (name === '.' || name === '..') return `"${name}" names a directory`;
  if (name.includes('/')) return 'it contains "/" (a launcher name is one file name, not a path)';
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'it contains a control character (NUL, newline, tab, ...)';
  if (Buffer.byteLength(name) > MAX_NAME_BYTES) return `it is longer than ${MAX_NAME_BYTES} bytes`;
  return undefined;
}

/** Throw BAD_ENTRY_NAME unless `name` is a single, ordinary file name. */
export function validateEntryName(name: string, where: string): void {
  const problem = entryNameProblem(name);
  if (problem === undefined) return;
  throw new SidebundleError('BAD_ENTRY_NAME', `${where}: entry name ${JSON.stringify(name)} is not usable: ${problem}`, {
    input: name,
    kind: 'input',
    hint: 'name=NAME becomes bin/NAME in the bundle: use one file name such as name=my-tool',
  });
}

/** Throw BAD_ENV_NAME unless `key` is a portable environment variable name. */
export function validateEnvName(key: string, where: string): void {
  if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) return;
  throw new SidebundleError('BAD_ENV_NAME', `${where}: ${JSON.stringify(key)} is not a valid environment variable name`, {
    input: key,
    kind: 'input',
    hint: 'use letters, digits and underscores, not starting with a digit, e.g. LANG',
  });
}

/** Throw BAD_BUNDLE_NAME unless `name` is a plain directory name. */
export function validateBundleName(name: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._+-]*$/.test(name) || name.length > 200) {
    throw new SidebundleError('BAD_BUNDLE_NAME', `"${name}" is not a usable bundle name`, {
      input: name,
      kind: 'input',
      hint: 'use letters, digits, dot, dash, underscore or plus, starting with a letter or digit',
    });
  }
}
