// Thousands of unresolved DT_NEEDED entries give a summary on stderr, not one line each; the
// whole list stays in --json and manifest.lock, and --log-level debug prints every one.
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';

import { compile } from '../helpers/cc';
import { runCli } from '../helpers/cli';
import { tempDir } from '../helpers/tmp';

const COUNT = 2000;

test(`${COUNT} missing libraries: ten warnings and a count`, () => {
  const dir = tempDir('sb-missing-');
  const program = compile(path.join(dir, 'needy'), 'int main(void) { return 0; }');
  const needed = Array.from({ length: COUNT }, (_, i) => ['--add-needed', `libabsent${i}.so.1`]).flat();
  execFileSync('patchelf', [...needed, program]);
  expect(execFileSync('readelf', ['-d', program], { encoding: 'utf8' }).match(/libabsent\d+\.so\.1/g)).toHaveLength(COUNT);

  const r = runCli(['create', '--name', 'needy', '--out-dir', path.join(dir, 'out'), '--no-cache', '--from-host', program]);
  expect(r.status).toBe(0);
  const lines = r.stderr.trim().split('\n');
  expect(lines.length).toBeLessThan(30);
  expect(lines.filter((l) => /warning: library libabsent\d+\.so\.1 not found, needed by/.test(l))).toHaveLength(10);
  expect(r.stderr).toContain(`… and ${COUNT - 10} more missing libraries (all in "missing" in manifest.lock; --log-level debug prints each)`);

  const json = runCli(['create', '--name', 'needy', '--out-dir', path.join(dir, 'out'), '--no-cache', '--from-host', program, '--json']);
  expect(JSON.parse(json.stdout).bundle.missing).toHaveLength(COUNT);
});
