// Names in a command's human output cannot drive the terminal: control characters are shown.
import { Writable } from 'node:stream';

import { Reporter } from '../../../lib/cli/reporter';
import { shown, shownLines } from '../../../lib/cli/shown';

test('C0, DEL and C1 control characters are shown as \\xNN; everything else is kept', () => {
  expect(shown('extra    payload/a\r\u001b[2K\u001b[1Aok: 16 files match')).toBe('extra    payload/a\\x0d\\x1b[2K\\x1b[1Aok: 16 files match');
  expect(shown('a\tb\nc\u007f\u009b')).toBe('a\\x09b\\x0ac\\x7f\\x9b');
  expect(shown('changed  payload/usr/bin/jq: size 1, manifest says 2 — é ✓')).toBe('changed  payload/usr/bin/jq: size 1, manifest says 2 — é ✓');
});

test('shownLines keeps a message\'s line breaks and shows every other control character', () => {
  expect(shownLines('warning about payload/a\u001b]0;owned\u0007b\r\n  hint: remove it')).toBe('warning about payload/a\\x1b]0;owned\\x07b\\x0d\n  hint: remove it');
});

test('the reporter\'s warnings and notes pass names through shownLines', () => {
  const written: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      written.push(chunk.toString());
      done();
    },
  }) as unknown as NodeJS.WriteStream;
  const reporter = new Reporter('debug', false, stream);
  reporter.warn('skipped /srv/x\u001b[2Kok: fine');
  reporter.info('copied /srv/\u009b31m');
  reporter.debug('line one\nline \u0008two');
  expect(written.join('')).toBe('warning: skipped /srv/x\\x1b[2Kok: fine\ncopied /srv/\\x9b31m\nline one\nline \\x08two\n');
});

test('bidirectional text controls, which reorder what a terminal shows, are shown as \\uNNNN', () => {
  expect(shown('payload/\u202eexe.txt and \u2066x\u2069 \u200f')).toBe('payload/\\u202eexe.txt and \\u2066x\\u2069 \\u200f');
});
