// A token on a trace command line does not travel with the bundle: manifest.lock records the
// command with its credential-looking values replaced.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

import { createBundle } from '../helpers/cli';
import { tempDir } from '../helpers/tmp';

test('trace commands in manifest.lock are redacted', () => {
  const out = path.join(tempDir('sb-redact-'), 'out');
  const bundle = createBundle(['--name', 't', '--out-dir', out, '--no-cache',
    '--from-host', "/bin/sh::trace=/bin/sh -c 'true' --api-token=tok-1234567890 https://me:pa55w0rd@example.com/x"]);
  const manifest = readFileSync(path.join(bundle.dir, 'manifest.lock'), 'utf8');
  expect(manifest).toMatch(/"command": "\/bin\/sh -c true --api-token=<redacted> https:\/\/me:<redacted>@example.com\/x"/);
  expect(manifest).not.toContain('tok-1234567890');
  expect(manifest).not.toContain('pa55w0rd');
});
