// Without the native shim (not shipped, and no cargo to build it), everything but tracing
// works, and tracing says so.
import { cpSync, mkdirSync, symlinkSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

import { repoRoot } from '../helpers/cli';
import { tempDir } from '../helpers/tmp';

const pkg = path.join(tempDir('sb-noshim-'), 'sidebundle');
mkdirSync(pkg, { recursive: true });
cpSync(path.join(repoRoot, 'dist'), path.join(pkg, 'dist'), { recursive: true });
cpSync(path.join(repoRoot, 'package.json'), path.join(pkg, 'package.json'));
symlinkSync(path.join(repoRoot, 'node_modules'), path.join(pkg, 'node_modules'));
const out = path.join(pkg, 'out');

function create(...args: string[]) {
  return spawnSync(process.execPath, [path.join(pkg, 'dist/lib/cli/main.js'), 'create', '--out-dir', out, '--no-cache', ...args], {
    encoding: 'utf8',
    env: { PATH: '/usr/bin:/bin', HOME: process.env.HOME ?? '/root' }, // no cargo on PATH
  });
}

test('an explicit backend fails clearly', () => {
  const r = create('--name', 'a', '--trace-backend', 'ptrace', '--from-host', '/usr/bin/jq::trace=--version');
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(/TRACE_NATIVE_UNAVAILABLE.*tracing is not available/);
  expect(r.stderr).toMatch(/hint: .*cargo.*--trace-backend off/);
});

test('auto warns that tracing is off and still bundles', () => {
  const r = create('--name', 'b', '--from-host', '/usr/bin/jq::trace=--version');
  expect(r.status).toBe(0);
  expect(r.stderr).toMatch(/warning: trace jq: tracing is off: tracing is not available/);
  expect(spawnSync(path.join(out, 'b/bin/jq'), ['-n', '1'], { encoding: 'utf8' }).stdout).toBe('1\n');
});
