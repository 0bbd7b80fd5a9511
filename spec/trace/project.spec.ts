// A user's own script project, checked out where every checkout and CI runner puts one (under
// /root and under /tmp), bundled through the CLI with a trace command: its local package and the
// data file it reads next to __file__ are shipped, at a place that does not depend on the
// checkout (the two bundles are byte-identical), and the bundle runs in a root without Python in
// the host and ns run modes, printing what the native run prints.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

import { bareRootfs } from '../fixtures/rootfs';
import { runInRoot, runOnHost } from '../fixtures/run-in-root';
import { runCli } from '../helpers/cli';
import { tempDir } from '../helpers/tmp';
import { contentDigest } from '../helpers/tree';

const MOUNT = '/tmp/b';
const out = tempDir('sb-project-out-');
// The checkouts: one in root's home, one in /tmp (tempDir), both named proj.
const homeDir = mkdtempSync('/root/sb-project-');
const checkouts = { root: path.join(homeDir, 'proj'), tmp: path.join(tempDir('sb-project-'), 'proj') };
afterAll(() => rmSync(homeDir, { recursive: true, force: true }));
// Python writes bytecode caches into the project while traced; they must not reach the bundle.
const env = { PYTHONDONTWRITEBYTECODE: '' };

const TOOL = `#!/usr/bin/env python3
import os, sys
from pkg.helper import summary
here = os.path.dirname(os.path.abspath(__file__))
try:
    open(os.path.join(here, '.env')).read()
except OSError:
    pass
with open(os.path.join(here, 'data', 'table.txt')) as f:
    print(summary(f.read().split(), sys.argv[1:]))
`;

function checkout(dir: string): void {
  mkdirSync(path.join(dir, 'pkg'), { recursive: true });
  mkdirSync(path.join(dir, 'data'));
  writeFileSync(path.join(dir, 'pyproject.toml'), '[project]\nname = "proj"\nversion = "1"\n');
  writeFileSync(path.join(dir, 'tool.py'), TOOL);
  chmodSync(path.join(dir, 'tool.py'), 0o755);
  writeFileSync(path.join(dir, 'pkg', '__init__.py'), '');
  writeFileSync(path.join(dir, 'pkg', 'helper.py'), "def summary(rows, args):\n    return f'{len(rows)} rows, first {rows[0]}, args {args}'\n");
  writeFileSync(path.join(dir, 'data', 'table.txt'), 'alpha\nbeta\ngamma\n');
  writeFileSync(path.join(dir, '.env'), 'API_TOKEN=not-for-the-bundle\n');
}

const built: Record<string, { dir: string; stderr: string; runModes: string[] }> = {};
beforeAll(() => {
  for (const [label, dir] of Object.entries(checkouts)) {
    checkout(dir);
    // From inside the checkout with a relative entry, and from elsewhere with an absolute one;
    // the trace command names the checkout (the manifest records it at the project's place).
    const spec = `${label === 'root' ? 'tool.py' : `${dir}/tool.py`}::trace=${dir}/tool.py one two`;
    const r = runCli(['create', '--name', 'tool', '--out-dir', path.join(out, label), '--json', '--from-host', spec], { cwd: label === 'root' ? dir : out, env });
    if (r.status !== 0) throw new Error(`sidebundle create failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
    const bundleDir = JSON.parse(r.stdout).bundle.dir as string;
    const manifest = JSON.parse(readFileSync(path.join(bundleDir, 'manifest.lock'), 'utf8'));
    built[label] = { dir: bundleDir, stderr: r.stderr, runModes: manifest.entries.map((e: { runMode: string }) => e.runMode) };
  }
});

test('the two checkouts give byte-identical bundles, the project at /opt/sidebundle/proj', () => {
  const [a, b] = [built.root!.dir, built.tmp!.dir];
  expect(existsSync(path.join(checkouts.tmp, 'pkg', '__pycache__'))).toBe(true); // the trace wrote them
  expect(readFileSync(path.join(a, 'manifest.lock'), 'utf8')).toBe(readFileSync(path.join(b, 'manifest.lock'), 'utf8'));
  expect(contentDigest(path.join(a, 'payload'))).toBe(contentDigest(path.join(b, 'payload')));
  expect(contentDigest(a)).toBe(contentDigest(b));
  const manifest = readFileSync(path.join(a, 'manifest.lock'), 'utf8');
  for (const file of ['tool.py', 'pkg/__init__.py', 'pkg/helper.py', 'data/table.txt']) {
    expect(readFileSync(path.join(a, 'payload/opt/sidebundle/proj', file), 'utf8')).toBe(readFileSync(path.join(checkouts.root, file), 'utf8'));
  }
  expect(manifest).not.toContain(homeDir);
  expect(manifest).not.toContain(path.dirname(checkouts.tmp));
  // The .pyc the trace wrote in the checkout are not shipped; the project's byte code is the
  // hash-based one compiled at package time (the same for both checkouts, checked above).
  const pyc = JSON.parse(manifest).files.filter((f: { path: string }) => /sidebundle\/proj\/.*__pycache__/.test(f.path));
  expect(pyc.length).toBeGreaterThan(0);
  for (const f of pyc) expect(f.reasons).toEqual([expect.objectContaining({ kind: 'collected', family: 'python', what: expect.stringMatching(/^byte code \(unchecked-hash\) of /) })]);
});

test('the entry keeps the root run modes (not pushed to host mode)', () => {
  expect(built.root!.runModes).toEqual(['auto']);
  expect(built.root!.stderr).not.toMatch(/runs in host mode/);
});

test('the secret the run read is left out, with a warning that names it', () => {
  for (const [label, dir] of Object.entries(checkouts)) {
    expect(built[label]!.stderr).toContain(`${dir}/.env: secret`);
    expect(built[label]!.stderr).toContain(`--allow-secret ${dir}/.env`);
  }
  expect(readFileSync(path.join(built.root!.dir, 'manifest.lock'), 'utf8')).toContain('"path": "/opt/sidebundle/proj/.env"');
  expect(() => readFileSync(path.join(built.root!.dir, 'payload/opt/sidebundle/proj/.env'))).toThrow();
});

describe.each(['host', 'ns'])('run mode %s in a root without python', (mode) => {
  const native = () => runOnHost([path.join(checkouts.root, 'tool.py'), 'one', 'two']);

  test.each(Object.keys(checkouts))('the bundle from the %s checkout prints what the native run prints', (label) => {
    const root = bareRootfs();
    expect(runInRoot(root, ['/bin/sh', '-c', 'command -v python3 || echo none']).stdout).toBe('none\n');
    const expected = native();
    expect(expected.stdout).toBe("3 rows, first alpha, args ['one', 'two']\n");
    const r = runInRoot(root, [`${MOUNT}/bin/tool.py`, 'one', 'two'], { binds: { [built[label]!.dir]: MOUNT }, env: { SIDEBUNDLE_RUN_MODE: mode } });
    expect({ stdout: r.stdout, stderr: r.stderr, status: r.status }).toEqual({ stdout: expected.stdout, stderr: '', status: 0 });
  });
});

test('--strict-validate fails on a file outside the project under /root that the run read; the previous bundle stays', () => {
  const dir = checkouts.root;
  writeFileSync(path.join(homeDir, 'settings.ini'), 'x = 1\n');
  writeFileSync(path.join(dir, 'reads-home.py'), `#!/usr/bin/env python3\nprint(open(${JSON.stringify(path.join(homeDir, 'settings.ini'))}).read().strip())\n`);
  chmodSync(path.join(dir, 'reads-home.py'), 0o755);
  const args = ['create', '--name', 'reads-home', '--out-dir', path.join(out, 'strict'), '--from-host', `${dir}/reads-home.py::trace=${dir}/reads-home.py`];
  const lenient = runCli(args, { env });
  expect(lenient.status).toBe(0);
  expect(lenient.stderr).toContain(`${homeDir}/settings.ini: the user's home directory`);
  expect(lenient.stderr).toContain(`--trace-include ${homeDir}/settings.ini`);
  expect(lenient.stdout).toMatch(/validation: 1 issue/);
  const manifest = path.join(out, 'strict', 'reads-home', 'manifest.lock');
  const before = readFileSync(manifest, 'utf8');

  const strict = runCli([...args, '--strict-validate'], { env });
  expect(strict.status).toBe(1);
  expect(strict.stderr).toMatch(/VALIDATION_FAILED.*settings\.ini/);
  expect(readFileSync(manifest, 'utf8')).toBe(before);

  // Relative to the working directory, --trace-include brings it back.
  const included = runCli([...args, '--strict-validate', '--trace-include', 'settings.ini'], { cwd: homeDir, env });
  expect(included.status).toBe(0);
});
