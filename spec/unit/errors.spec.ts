// The errno table: what an operating-system error means in general, and in a directory sidebundle
// writes in. Real fs errors, made in a temporary directory.
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

import { errnoCode, fromSystemError, fromWriteDirError, type DirectoryFault } from '../../lib/errors';
import { tempDir } from '../helpers/tmp';
import { thrown } from '../helpers/thrown';

const dir = tempDir('errors-');

const hints: Record<DirectoryFault, string> = { NO_SPACE: 'free', READ_ONLY: 'writable', UNWRITABLE: 'yours', NOT_A_DIRECTORY: 'a directory' };

describe('an operating-system error', () => {
  it('in general: its own code, the path it names as the input, and a hint', () => {
    const file = path.join(dir, 'file');
    writeFileSync(file, '');
    const error = thrown(() => mkdirSync(path.join(file, 'sub')));
    expect(errnoCode(error)).toBe('ENOTDIR');
    expect(fromSystemError(error)).toMatchObject({ code: 'PATH_NOT_A_DIRECTORY', input: path.join(file, 'sub'), kind: 'input', hint: `check ${path.join(file, 'sub')}` });
  });

  it('EEXIST has no general meaning (outside a directory we write in it is a bug), nor has an error without an errno', () => {
    const error = thrown(() => mkdirSync(dir));
    expect(errnoCode(error)).toBe('EEXIST');
    expect(fromSystemError(error)).toBeUndefined();
    expect(fromSystemError(new Error('plain'))).toBeUndefined();
  });

  it('in a directory we write in: the owner prefix and its hint, naming the directory; EEXIST there is a file in the way', () => {
    const at = { dir, prefix: 'CACHE', message: 'cannot use it', hints };
    expect(fromWriteDirError(thrown(() => mkdirSync(dir)), at)).toMatchObject({ code: 'CACHE_NOT_A_DIRECTORY', input: dir, kind: 'input', hint: 'a directory', message: 'cannot use it' });
    const noSpace = Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
    expect(fromWriteDirError(noSpace, at)).toMatchObject({ code: 'CACHE_NO_SPACE', kind: 'failure', hint: 'free' });
  });

  it('an errno that says nothing about the directory is left to the general meaning', () => {
    const tooLong = thrown(() => mkdirSync(path.join(dir, 'x'.repeat(300))));
    expect(errnoCode(tooLong)).toBe('ENAMETOOLONG');
    expect(fromWriteDirError(tooLong, { dir, prefix: 'OUTPUT', message: 'm', hints })).toBeUndefined();
    expect(fromSystemError(tooLong)?.code).toBe('PATH_TOO_LONG');
  });

  it('reads an errno the prototype has (toString) as unknown', () => {
    const odd = Object.assign(new Error('odd'), { code: 'toString' });
    expect(fromSystemError(odd)).toBeUndefined();
    expect(fromWriteDirError(odd, { dir, prefix: 'OUTPUT', message: 'm', hints })).toBeUndefined();
  });
});
