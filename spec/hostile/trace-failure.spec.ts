// A trace command that fails does not give a bundle: exit 2 with TRACE_COMMAND_FAILED, the
// previous bundle kept; --allow-trace-failure accepts it, and a cached accepted run does not
// let a later strict run pass.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

import { runCli } from '../helpers/cli';
import { tempDir } from '../helpers/tmp';

const dir = tempDir('sb-tracefail-');
const out = path.join(dir, 'out');
const cache = ['--cache-dir', path.join(dir, 'cache')];

function create(trace: string, ...extra: string[]) {
  return runCli(['create', '--name', 't', '--out-dir', out, ...cache, '--from-host', `/bin/sh::trace=${trace}`, ...extra]);
}

test('a non-zero exit fails the build and keeps the previous bundle', () => {
  expect(create("/bin/sh -c 'exit 0'").status).toBe(0);
  const manifest = readFileSync(path.join(out, 't', 'manifest.lock'), 'utf8');

  const failed = create("/bin/sh -c 'echo about-to-fail | tr a-z A-Z >&2; exit 3'");
  expect(failed.status).toBe(2);
  expect(failed.stderr).toMatch(/error\[TRACE_COMMAND_FAILED\]: the trace command of sh exited with status 3: \/bin\/sh -c/);
  // What the command wrote to its stderr reaches ours (the command line only has it in lower case).
  expect(failed.stderr).toContain('ABOUT-TO-FAIL');
  expect(failed.stderr).toMatch(/hint: .*--allow-trace-failure/);
  expect(readFileSync(path.join(out, 't', 'manifest.lock'), 'utf8')).toBe(manifest);
});

test('death by a signal fails too', () => {
  const r = create("/bin/sh -c 'kill -TERM $$'");
  expect(r.status).toBe(2);
  expect(r.stderr).toMatch(/TRACE_COMMAND_FAILED\]: the trace command of sh was killed by SIGTERM/);
});

test('--allow-trace-failure keeps the run; a later run without it still fails on the cached report', () => {
  const accepted = create("/bin/sh -c 'exit 4'", '--allow-trace-failure');
  expect(accepted.stderr).not.toContain('TRACE_COMMAND_FAILED');
  expect(accepted.status).toBe(0);
  const strict = create("/bin/sh -c 'exit 4'", '--log-level', 'debug');
  expect(strict.stderr).toMatch(/trace: cache hit/);
  expect(strict.status).toBe(2);
  expect(strict.stderr).toContain('TRACE_COMMAND_FAILED');
});
