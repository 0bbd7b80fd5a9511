// The example build script in examples/ runs as documented.
import * as path from 'node:path';

import { buildBundles } from '../../examples/build-script/build';
import { runOnHost } from '../fixtures/run-in-root';
import { tempDir } from '../helpers/tmp';

test('the example build script composes resolve, trace, merge and pack', async () => {
  const dir = tempDir('sb-example-');
  const result = await buildBundles(path.join(dir, 'out'), path.join(dir, 'cache'));
  expect(result.traced).toEqual([expect.objectContaining({ command: ['/usr/bin/python3', '-c', 'import json, sqlite3'], backend: 'combined' })]);
  expect(runOnHost([path.join(result.tools.dir, 'bin/python3'), '-c', 'import json, sqlite3; print(json.dumps([1]))']).stdout).toBe('[1]\n');
  expect(runOnHost([path.join(result.jqOnly.dir, 'bin/jq'), '-n', '[1,2] | add']).stdout).toBe('3\n');
  expect(result.tools.validation.ok).toBe(true);
});
