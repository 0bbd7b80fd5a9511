// The output directory's errors: its own codes first, the general meaning where it says nothing
// about the directory, and SidebundleErrors passed through. Real fs errors.
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

import { SidebundleError } from '../../../lib/errors';
import { outputError } from '../../../lib/package/output-errors';
import { tempDir } from '../../helpers/tmp';
import { thrown } from '../../helpers/thrown';

const dir = tempDir('output-errors-');

it('a file where the output directory belongs: OUTPUT_NOT_A_DIRECTORY naming the directory', () => {
  const out = path.join(dir, 'out');
  writeFileSync(out, '');
  const error = outputError(thrown(() => mkdirSync(path.join(out, 'jq'))), out, `cannot create the output directory ${out}`);
  expect(error).toMatchObject({ code: 'OUTPUT_NOT_A_DIRECTORY', input: out, kind: 'input' });
  expect((error as SidebundleError).message).toMatch(new RegExp(`^cannot create the output directory ${out}: ENOTDIR`));
});

it('an errno that says nothing about the directory: as it is, or its general meaning when the operation was in the directory', () => {
  const tooLong = thrown(() => mkdirSync(path.join(dir, 'x'.repeat(300))));
  expect(outputError(tooLong, dir)).toBe(tooLong);
  expect(outputError(tooLong, dir, 'cannot create it')).toMatchObject({ code: 'PATH_TOO_LONG' });
  expect(outputError(new Error('no errno'), dir, 'cannot create it')).toMatchObject({ code: 'OUTPUT_UNWRITABLE', input: dir });
});

it('passes a SidebundleError through', () => {
  const named = new SidebundleError('SOURCE_UNREADABLE', 'x');
  expect(outputError(named, dir, 'cannot')).toBe(named);
});
