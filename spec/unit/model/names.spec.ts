// Entry, bundle and variable names: the checks that keep a name from becoming a path or code.
import { entryNameProblem, validateBundleName, validateEntryName, validateEnvName } from '../../../lib/model/names';

describe('entry names are one ordinary file name', () => {
  test.each(['jq', 'python3.11', 'g++', '[', '.hidden', 'name with spaces', 'ünïcode'])('%j is accepted', (name) => {
    expect(entryNameProblem(name)).toBeUndefined();
  });

  test.each([
    ['', /empty/],
    ['.', /directory/],
    ['..', /directory/],
    ['../../../x/evil', /contains "\/"/],
    ['../runtime/sidebundle-run', /contains "\/"/],
    ['a/b', /contains "\/"/],
    ['a\u0000b', /control character/],
    ['a\nexec rm -rf ~', /control character/],
    ['x'.repeat(251), /longer than 250 bytes/],
  ])('%j is refused (%s)', (name, why) => {
    expect(entryNameProblem(name)).toMatch(why);
    expect(() => validateEntryName(name, 'spec')).toThrow(expect.objectContaining({ code: 'BAD_ENTRY_NAME', kind: 'input', input: name }));
  });
});

test('bundle names and environment variable names', () => {
  expect(() => validateBundleName('tools-1.0')).not.toThrow();
  expect(() => validateBundleName('../x')).toThrow(expect.objectContaining({ code: 'BAD_BUNDLE_NAME' }));
  expect(() => validateEnvName('LANG', 'spec')).not.toThrow();
  expect(() => validateEnvName('A;rm -rf ~;B', 'spec')).toThrow(expect.objectContaining({ code: 'BAD_ENV_NAME' }));
  expect(() => validateEnvName('1X', 'spec')).toThrow(expect.objectContaining({ code: 'BAD_ENV_NAME' }));
});
