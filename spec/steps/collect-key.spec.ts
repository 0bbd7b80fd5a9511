// Collection is keyed on what it decides on, not on every byte of the closures: editing the
// project's script reuses the interpreter's collection, while a change to what a collection
// read or listed (a module added to a package directory it took whole, a changed module) or to
// the traced paths reruns it; and a bundle whose byte code all comes from the cache does not
// write its index again. Real python3, jq and sh, traced with ptrace, through bundle().
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

import { bundle } from '../../lib/bundle';
import { StepCache } from '../../lib/cache/step-cache';
import { INVALIDATION_MODE } from '../../lib/package/bytecode';
import { STEP_VERSIONS, type StepEvent } from '../../lib/steps/context';
import { holdPythonSiteLock } from '../helpers/python-site-lock';
import { tempDir } from '../helpers/tmp';

const base = tempDir('sb-collect-key-');
// A package no distribution metadata claims, in a site directory of our own: the traced run
// imports it, and python collection takes its whole directory (listed, each file read); a site
// directory is one named site-packages.
const site = path.join(base, 'pylib', 'site-packages');
const pkg = path.join(site, 'sbkey');
const script = path.join(base, 'app', 'report.sh');
const out = path.join(base, 'out');
const cache = new StepCache(path.join(base, 'cache'));

const writeScript = (body: string) => writeFileSync(script, `#!/bin/sh\n${body}\n`, { mode: 0o755 });

async function build(): Promise<{ steps: Record<string, string[]>; dir: string; bytecode?: { compiled: number; reused: number } }> {
  const events: StepEvent[] = [];
  const result = await bundle({
    name: 'tools',
    outDir: out,
    runMode: 'host',
    traceBackend: 'ptrace',
    traceInclude: [base],
    entries: [
      { source: 'host', path: '/usr/bin/python3', trace: ['/usr/bin/python3', '-c', `import sys; sys.path.insert(0, ${JSON.stringify(site)}); import sbkey`] },
      { source: 'host', path: '/usr/bin/jq' },
      { source: 'host', path: script, trace: [script] },
    ],
  }, { cache, onEvent: (e) => events.push(e) });
  const steps: Record<string, string[]> = {};
  for (const e of events) if (e.type === 'step') (steps[e.step] ??= []).push(e.status);
  return { steps, dir: result.dir, ...(result.bytecode ? { bytecode: result.bytecode } : {}) };
}

/** The step cache's record of the bundled python3's byte code index. */
function bytecodeRecordOf(dir: string): string {
  const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.lock'), 'utf8')) as { files: Array<{ path: string; sha256: string }> };
  const interpreter = manifest.files.find((f) => /\/usr\/bin\/python3\.\d+$/.test(f.path));
  expect(interpreter).toBeDefined();
  const record = path.join(cache.dir, 'records', `${cache.key('bytecode', STEP_VERSIONS.package, { interpreterSha: interpreter!.sha256, mode: INVALIDATION_MODE })}.json`);
  expect(existsSync(record)).toBe(true);
  return record;
}

const payloadFile = (dir: string, host: string) => path.join(dir, 'payload', host);
const runReport = (dir: string) => spawnSync(path.join(dir, 'bin', 'report.sh'), { encoding: 'utf8' });

let release: () => void;
beforeAll(async () => {
  // The interpreter's own site directory is listed by collection too: stale.spec adds a module
  // there, which would make every collection here a (correct) miss while it runs.
  release = await holdPythonSiteLock();
  mkdirSync(pkg, { recursive: true });
  mkdirSync(path.dirname(script), { recursive: true });
  writeFileSync(path.join(pkg, '__init__.py'), 'WORD = "init"\n');
  writeFileSync(path.join(pkg, 'helper.py'), 'WORD = "helper v1"\n'); // never imported: only collection brings it
  writeScript(`echo "report v1: $(jq -n '[1, 2, 3] | add')"`);
});
afterAll(() => release?.());

test('collection reruns only when what it decided on changes', async () => {
  const cold = await build();
  expect(cold.steps.collect).toEqual(['run']);
  // The precondition: collection (not the trace) brought helper.py, and the stdlib with it.
  expect(readFileSync(payloadFile(cold.dir, path.join(pkg, 'helper.py')), 'utf8')).toBe('WORD = "helper v1"\n');
  const manifest = JSON.parse(readFileSync(path.join(cold.dir, 'manifest.lock'), 'utf8')) as { files: Array<{ path: string; reasons: Array<{ kind: string; family?: string }> }> };
  expect(manifest.files.find((f) => f.path.endsWith(`${pkg}/helper.py`))?.reasons).toEqual([expect.objectContaining({ kind: 'collected', family: 'python' })]);
  expect(runReport(cold.dir).stdout).toBe('report v1: 6\n');
  const bytecodeRecord = bytecodeRecordOf(cold.dir);
  const indexWritten = statSync(bytecodeRecord).mtimeMs;

  // The script edited (other bytes, other size, same files touched): its trace reruns, python's
  // collection is reused, and the bundle carries the new script.
  writeScript(`echo "report v2, a longer line: $(jq -n '[1, 2, 3] | add')"`);
  const edited = await build();
  expect(edited.steps.trace).toEqual(['hit', 'run']);
  expect(edited.steps.collect).toEqual(['hit']);
  expect(edited.steps.package).toEqual(['run']);
  expect(runReport(edited.dir).stdout).toBe('report v2, a longer line: 6\n');
  // Every .pyc came from the cache, so its index was not written again.
  expect(edited.bytecode).toEqual({ compiled: 0, reused: cold.bytecode!.compiled });
  expect(statSync(bytecodeRecord).mtimeMs).toBe(indexWritten);

  // A module added to the directory collection took whole: the listing it read changed.
  writeFileSync(path.join(pkg, 'extra.py'), 'WORD = "extra"\n');
  const added = await build();
  expect(added.steps.trace).toEqual(['hit', 'hit']);
  expect(added.steps.collect).toEqual(['run']);
  expect(readFileSync(payloadFile(added.dir, path.join(pkg, 'extra.py')), 'utf8')).toBe('WORD = "extra"\n');

  // A file collection read changed in place (same listing).
  writeFileSync(path.join(pkg, 'helper.py'), 'WORD = "helper v2"\n');
  const changed = await build();
  expect(changed.steps.collect).toEqual(['run']);
  expect(readFileSync(payloadFile(changed.dir, path.join(pkg, 'helper.py')), 'utf8')).toBe('WORD = "helper v2"\n');

  // The script now touches another file: the closures collection starts from changed.
  writeScript(`cat /etc/hostname >/dev/null; echo "report v3: $(jq -n '[1, 2, 3] | add')"`);
  const retraced = await build();
  expect(retraced.steps.collect).toEqual(['run']);
  expect(runReport(retraced.dir).stdout).toBe('report v3: 6\n');

  // Nothing changed: every step a hit.
  const noop = await build();
  expect(noop.steps).toEqual({ resolve: ['hit'], trace: ['hit', 'hit'], collect: ['hit'], merge: ['hit'], package: ['hit'] });
});
