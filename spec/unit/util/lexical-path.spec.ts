// Lexical `.` and `..`: an absolute path stops at `/`, a relative one keeps a `..` past its start.
import { lexicalPath } from '../../../lib/util/lexical-path';

test('drops empty and `.` parts and takes a `..` back one part', () => {
  expect(lexicalPath('/usr//lib/./x86_64/../libc.so.6')).toBe('/usr/lib/libc.so.6');
  expect(lexicalPath('packages/./greet/')).toBe('packages/greet');
});

test('an absolute path stays at / however many `..` climb past it', () => {
  expect(lexicalPath('/../../etc/passwd')).toBe('/etc/passwd');
  expect(lexicalPath('/usr/..')).toBe('/');
});

test('a relative path keeps each `..` past its start (a place beside it), and the start itself is empty', () => {
  expect(lexicalPath('../shared')).toBe('../shared');
  expect(lexicalPath('packages/../../../shared/./lib')).toBe('../../shared/lib');
  expect(lexicalPath('a/..')).toBe('');
  expect(lexicalPath('')).toBe('');
});
