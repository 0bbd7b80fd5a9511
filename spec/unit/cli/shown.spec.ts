// Names in a command's human output cannot drive the terminal: control characters are shown.
import { shown } from '../../../lib/cli/shown';

test('C0, DEL and C1 control characters are shown as \\xNN; everything else is kept', () => {
  expect(shown('extra    payload/a\r\u001b[2K\u001b[1Aok: 16 files match')).toBe('extra    payload/a\\x0d\\x1b[2K\\x1b[1Aok: 16 files match');
  expect(shown('a\tb\nc\u007f\u009b')).toBe('a\\x09b\\x0ac\\x7f\\x9b');
  expect(shown('changed  payload/usr/bin/jq: size 1, manifest says 2 — é ✓')).toBe('changed  payload/usr/bin/jq: size 1, manifest says 2 — é ✓');
});
