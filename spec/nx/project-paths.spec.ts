// A user's own Python script project in a real Nx workspace, checked out at several paths:
// - issue 15: under /root and under /tmp, each bundled on its own by `nx run tool:bundle`, gives
//   the same manifest.lock, and the bundle runs in the bare root (no python there) in the host and
//   ns modes, printing what `python3 tool.py` prints, also with arguments that import stdlib
//   modules the trace never imported;
// - issue 11: under /home and under /tmp, sharing one Nx cache directory and a self-hosted
//   remote cache on loopback: hits across the paths, never a stale bundle after an edit in one.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as path from 'node:path';

import { bareRootfs } from '../fixtures/rootfs';
import { runInRoot, runOnHost, type RunResult } from '../fixtures/run-in-root';
import { holdPythonSiteLock } from '../helpers/python-site-lock';
import { tempDir } from '../helpers/tmp';
import { contentDigest } from '../helpers/tree';
import { startRemoteCache, type RemoteCache } from './remote-cache';
import { cloneWorkspace, createWorkspace, nx, packRepository, writeProjects } from './workspace';

jest.setTimeout(600_000);

const base = tempDir('sb-nx-paths-');
const rootHome = mkdtempSync('/root/sb-nx-paths-');
const userHome = mkdtempSync('/home/sb-nx-paths-');
// The bundles' locks list the interpreter's site directory, which stale.spec.ts changes.
let releaseSiteLock = () => {};
beforeAll(async () => {
  releaseSiteLock = await holdPythonSiteLock();
}, 900_000);
afterAll(() => {
  rmSync(rootHome, { recursive: true, force: true });
  rmSync(userHome, { recursive: true, force: true });
  releaseSiteLock();
});

const STEPS = ['resolve', 'trace', 'merge', 'package'];
const MOUNT = '/tmp/b';

// The tool reads its data file next to itself; each argument names a stdlib module to import and
// the data file says what to print with it (the trace runs without arguments).
const TOOL = `#!/usr/bin/python3
import importlib, json, os, sys
from mypkg import describe
here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, 'data', 'x.json')) as f:
    data = json.load(f)
print(describe(data))
for name in sys.argv[1:]:
    print(name, eval(data['demos'][name], {'m': importlib.import_module(name)}))
`;
const mypkg = (version: string) => `def describe(data):\n    return f"${version}: {data['name']} has {len(data['demos'])} demos"\n`;
const DATA = JSON.stringify({
  name: 'x',
  demos: {
    fractions: 'm.Fraction(1, 3) + m.Fraction(1, 6)',
    decimal: 'm.Decimal(1) / m.Decimal(7)',
    statistics: 'm.median([3, 1, 2])',
    difflib: "''.join(m.ndiff(['a'], ['b'])).strip()",
  },
});
const ARGS = ['fractions', 'decimal', 'statistics', 'difflib'];

const project = {
  'project.json': JSON.stringify({ name: 'tool' }),
  'sidebundle.json': JSON.stringify({ name: 'tool', entries: [{ host: './tool.py', trace: './tool.py' }] }),
  'tool.py': TOOL,
  'mypkg/__init__.py': mypkg('v1'),
  'data/x.json': DATA,
};

/** What `python3 tool.py ARGS` prints in a checkout. */
const native = (ws: string, args: string[]) => runOnHost(['/usr/bin/python3', path.join(ws, 'apps/tool/tool.py'), ...args], { env: { PYTHONDONTWRITEBYTECODE: '1' } });
const bundleOf = (ws: string) => path.join(ws, 'dist/bundles/tool');
const runBundle = (ws: string, args: string[], mode = 'host'): RunResult =>
  runInRoot(bareRootfs(), [`${MOUNT}/bin/tool.py`, ...args], { binds: { [bundleOf(ws)]: MOUNT }, env: { SIDEBUNDLE_RUN_MODE: mode } });
const expectSame = (bundled: RunResult, expected: RunResult) => {
  expect(expected.status).toBe(0);
  expect({ status: bundled.status, stderr: bundled.stderr, stdout: bundled.stdout }).toEqual({ status: 0, stderr: '', stdout: expected.stdout });
};

// One workspace, npm-installed under /tmp; the other checkouts are copies of it made before any
// build (the same sources, lockfile and node_modules; no dist/, no .nx/).
const tmpWs = path.join(base, 'workspace');
const rootWs = path.join(rootHome, 'workspace');
beforeAll(() => {
  createWorkspace(tmpWs, { tarball: packRepository(path.join(base, 'pack')), projects: { 'apps/tool': project } });
  cloneWorkspace(tmpWs, rootWs);
});

describe('issue 15: checkouts under /root and /tmp, each bundled through Nx on its own', () => {
  // Each checkout its own Nx cache: both bundles are built, neither restored from the other.
  const own = (ws: string) => ({ NX_CACHE_DIRECTORY: path.join(ws, '.nx/own-cache'), NX_WORKSPACE_DATA_DIRECTORY: path.join(ws, '.nx/own-data') });

  beforeAll(async () => {
    for (const ws of [rootWs, tmpWs]) {
      const run = await nx(ws, ['run', 'tool:bundle'], own(ws));
      if (run.status !== 0) throw new Error(`nx run tool:bundle failed in ${ws}:\n${run.output}`);
      for (const step of STEPS) expect(run.tasks[`tool:${step}`]).toBe('run');
    }
  });

  test('the two bundles have the same manifest.lock and the same content; no checkout path in it', () => {
    const manifest = readFileSync(path.join(bundleOf(rootWs), 'manifest.lock'), 'utf8');
    expect(readFileSync(path.join(bundleOf(tmpWs), 'manifest.lock'), 'utf8')).toBe(manifest);
    expect(contentDigest(bundleOf(tmpWs))).toBe(contentDigest(bundleOf(rootWs)));
    expect(manifest).not.toContain(rootHome);
    expect(manifest).not.toContain(base);
    for (const file of ['tool.py', 'mypkg/__init__.py', 'data/x.json']) {
      expect(readFileSync(path.join(bundleOf(rootWs), 'payload/opt/sidebundle/tool', file), 'utf8')).toBe(project[file as keyof typeof project]);
    }
  });

  describe.each(['host', 'ns'])('run mode %s in the bare root', (mode) => {
    test.each([['/root', rootWs], ['/tmp', tmpWs]])('the bundle from the %s checkout prints what python3 tool.py prints, also importing modules the trace did not', (_where, ws) => {
      const root = bareRootfs();
      expect(runInRoot(root, ['/bin/sh', '-c', 'command -v python3 || echo none']).stdout).toBe('none\n');
      expect(native(ws, []).stdout).toBe('v1: x has 4 demos\n');
      expectSame(runBundle(ws, [], mode), native(ws, []));
      const expected = native(ws, ARGS);
      expect(expected.stdout).toBe('v1: x has 4 demos\nfractions 1/2\ndecimal 0.1428571428571428571428571429\nstatistics 2\ndifflib - a+ b\n');
      expectSame(runBundle(ws, ARGS, mode), expected);
    });
  });

  test('the trace did not import the modules the arguments name (they came from collection)', () => {
    const files = (JSON.parse(readFileSync(path.join(bundleOf(tmpWs), 'manifest.lock'), 'utf8')) as { files: Array<{ path: string; reasons: Array<{ kind: string }> }> }).files;
    for (const module of ['fractions.py', 'decimal.py', 'statistics.py', 'difflib.py']) {
      const entry = files.find((f) => f.path.endsWith(`/python3.11/${module}`));
      expect(entry?.reasons.map((r) => r.kind)).toEqual(['collected']);
    }
  });
});

describe('issue 11: checkouts under /home and /tmp sharing one cache directory and a remote cache', () => {
  const homeWs = path.join(userHome, 'workspace');
  let remote: RemoteCache;
  let shared: Record<string, string>;

  beforeAll(async () => {
    remote = await startRemoteCache();
    // The Nx 24 local cache is indexed in the workspace-data database: both are shared.
    shared = {
      NX_CACHE_DIRECTORY: path.join(base, 'shared-cache'),
      NX_WORKSPACE_DATA_DIRECTORY: path.join(base, 'shared-data'),
      NX_SELF_HOSTED_REMOTE_CACHE_SERVER: remote.url,
      NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN: remote.token,
    };
    // The clone carries the sidebundle.lock the /tmp checkout's trace wrote (it is committed).
    cloneWorkspace(tmpWs, homeWs);
  });
  afterAll(() => remote.close());

  const bundle = async (ws: string, env: Record<string, string>) => {
    const run = await nx(ws, ['run', 'tool:bundle'], env);
    if (run.status !== 0) throw new Error(`nx run tool:bundle failed in ${ws}:\n${run.output}`);
    return run;
  };

  test('the /tmp checkout fills both caches; the /home checkout hits every step and its bundle runs', async () => {
    const first = await bundle(tmpWs, shared);
    expect(Object.values(first.tasks).filter((t) => t === 'run').length).toBeGreaterThan(0);
    expect(remote.requests.filter((r) => r.startsWith('PUT')).length).toBeGreaterThanOrEqual(STEPS.length);
    expectSame(runBundle(tmpWs, ['fractions']), native(tmpWs, ['fractions']));

    const second = await bundle(homeWs, shared);
    for (const step of [...STEPS, 'bundle']) expect(second.tasks[`tool:${step}`]).toBe('cache');
    expect(native(homeWs, ['fractions']).stdout).toBe('v1: x has 4 demos\nfractions 1/2\n');
    expectSame(runBundle(homeWs, ['fractions']), native(homeWs, ['fractions']));
  });

  test('an edit in the /home checkout reaches its bundle; the unedited /tmp checkout keeps its own', async () => {
    writeProjects(homeWs, { 'apps/tool': { 'mypkg/__init__.py': mypkg('v2') } });
    const edited = await bundle(homeWs, shared);
    expect(edited.tasks['tool:resolve']).toBe('cache');
    for (const step of ['trace', 'merge', 'package']) expect(edited.tasks[`tool:${step}`]).toBe('run');
    expect(native(homeWs, ['decimal']).stdout).toBe('v2: x has 4 demos\ndecimal 0.1428571428571428571428571429\n');
    expectSame(runBundle(homeWs, ['decimal']), native(homeWs, ['decimal']));

    const unedited = await bundle(tmpWs, shared);
    for (const step of [...STEPS, 'bundle']) expect(unedited.tasks[`tool:${step}`]).toBe('cache');
    expect(native(tmpWs, ['decimal']).stdout).toMatch(/^v1: /);
    expectSame(runBundle(tmpWs, ['decimal']), native(tmpWs, ['decimal']));
  });

  test('the same edit in the /tmp checkout is a hit of what /home built, and prints the new text', async () => {
    writeProjects(tmpWs, { 'apps/tool': { 'mypkg/__init__.py': mypkg('v2') } });
    const run = await bundle(tmpWs, shared);
    for (const step of [...STEPS, 'bundle']) expect(run.tasks[`tool:${step}`]).toBe('cache');
    expect(native(tmpWs, ['statistics']).stdout).toMatch(/^v2: /);
    expectSame(runBundle(tmpWs, ['statistics']), native(tmpWs, ['statistics']));
  });

  test('a third checkout with an empty local cache gets every step from the remote cache', async () => {
    const third = path.join(base, 'third');
    cloneWorkspace(homeWs, third);
    const run = await bundle(third, { ...shared, NX_CACHE_DIRECTORY: path.join(base, 'third-cache'), NX_WORKSPACE_DATA_DIRECTORY: path.join(base, 'third-data') });
    for (const step of [...STEPS, 'bundle']) expect(run.tasks[`tool:${step}`]).toBe('cache');
    expect(run.output).toMatch(/\[remote cache\]/);
    expectSame(runBundle(third, ['difflib']), native(third, ['difflib']));
    expect(native(third, ['difflib']).stdout).toMatch(/^v2: /);
  });
});
