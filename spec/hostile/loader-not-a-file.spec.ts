// A program whose PT_INTERP names something that exists but is not a file (/etc, /dev/zero) is
// refused with a message saying so, not "does not exist", which would send the user looking.
import { chmodSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

import { readElf } from '../../lib/elf';
import { SidebundleError } from '../../lib/errors';
import { buildClosure } from '../../lib/resolve/closure';
import { craftElf, StringTable } from '../elf/craft';
import { tempDir } from '../helpers/tmp';

const dir = tempDir('sb-interp-');

function programWithLoader(interpreter: string): string {
  const file = path.join(dir, `uses-${path.basename(interpreter)}`);
  writeFileSync(file, craftElf({ strings: new StringTable(), needed: ['libc.so.6'], interpreter }));
  chmodSync(file, 0o755);
  expect(readElf(file).interpreter).toBe(interpreter);
  return file;
}

function closureError(file: string): SidebundleError {
  try {
    buildClosure({ entries: [{ path: file }] });
  } catch (error) {
    expect(error).toBeInstanceOf(SidebundleError);
    return error as SidebundleError;
  }
  throw new Error(`${file} was bundled, but its loader is not a file`);
}

test.each([
  ['/etc', 'a directory'],
  ['/dev/zero', 'a character device'],
])('a PT_INTERP of %s is reported as %s, not a loader', (interpreter, kind) => {
  const error = closureError(programWithLoader(interpreter));
  expect(error.code).toBe('ENTRY_LOADER_MISSING');
  expect(error.message).toContain(`${interpreter} is ${kind}, not a regular file, so it cannot be a loader`);
  expect(error.message).not.toMatch(/does not exist/);
  expect(error.hint).toMatch(/PT_INTERP/);
});

test('a PT_INTERP that is absent still says it does not exist', () => {
  const error = closureError(programWithLoader('/no/such/ld.so'));
  expect(error.code).toBe('ENTRY_LOADER_MISSING');
  expect(error.message).toMatch(/\/no\/such\/ld\.so, which does not exist/);
});
