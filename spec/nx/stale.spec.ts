// Nx's cache never restores a stale bundle (issue 11): a program another project builds, a
// workspace file only the traced run reads, a file outside the workspace only the traced run
// reads (sidebundle.lock), a file added to a directory collection took whole, clones at other
// paths sharing one cache, and a failing trace command.
// Each case changes something and runs the bundle: it must print the new output.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

import { runOnHost } from '../fixtures/run-in-root';
import { holdPythonSiteLock } from '../helpers/python-site-lock';
import { tempDir } from '../helpers/tmp';
import { cloneWorkspace, createWorkspace, nx, packRepository, writeProjects } from './workspace';

jest.setTimeout(600_000);

const base = tempDir('sb-nx-stale-');
const ws = path.join(base, 'workspace');
/** One Nx cache for every run and clone, as a team's shared disk would be. Nx 24 keeps the index
 * of its local cache in the workspace-data database: a shared NX_CACHE_DIRECTORY alone gives each
 * checkout its own index (no hits), so the database directory is shared too. */
const env = { NX_CACHE_DIRECTORY: path.join(base, 'nx-cache'), NX_WORKSPACE_DATA_DIRECTORY: path.join(base, 'nx-data') };

// A Python module outside the workspace, on the interpreter's own search path (the trace policy
// keeps /usr/local; it leaves out /tmp and home directories).
const sitePackages = execFileSync('/usr/bin/python3', ['-c', 'import site; print(site.getsitepackages()[0])'], { encoding: 'utf8' }).trim();
const moduleName = `sbe2e_${path.basename(base).replace(/\W/g, '_')}`;
const moduleFile = path.join(sitePackages, `${moduleName}.py`);
const madeSitePackages = !existsSync(sitePackages);

const helloC = (word: string) => `#include <stdio.h>\nint main(void) { puts("${word}"); return 0; }\n`;
const pyTool = `#!/usr/bin/python3\nimport helper, ${moduleName}\nprint(helper.message(), ${moduleName}.WORD)\n`;

let releaseSiteLock = () => {};
beforeAll(async () => {
  releaseSiteLock = await holdPythonSiteLock();
  if (madeSitePackages) mkdirSync(sitePackages, { recursive: true });
  writeFileSync(moduleFile, 'WORD = "module v1"\n');
  createWorkspace(ws, {
    tarball: packRepository(path.join(base, 'pack')),
    projects: {
      'apps/cprog': {
        'project.json': JSON.stringify({
          name: 'cprog',
          targets: {
            build: {
              executor: 'nx:run-commands',
              options: { command: 'mkdir -p dist/cprog && gcc -O1 -o dist/cprog/hello apps/cprog/hello.c' },
              inputs: ['{projectRoot}/**/*'],
              outputs: ['{workspaceRoot}/dist/cprog'],
              cache: true,
            },
          },
        }),
        'hello.c': helloC('hello v1'),
      },
      'apps/capp': {
        'project.json': JSON.stringify({ name: 'capp' }),
        'sidebundle.json': JSON.stringify({ name: 'capp', entries: ['../../dist/cprog/hello'] }),
      },
      'apps/pyapp': {
        'project.json': JSON.stringify({ name: 'pyapp' }),
        'tool.py': pyTool,
        'helper.py': 'def message():\n    return "helper v1"\n',
        // The workspace sits under /tmp, which the trace policy leaves out: bring the project back.
        'sidebundle.json': JSON.stringify({ name: 'pyapp', entries: [{ host: './tool.py', trace: './tool.py' }], traceInclude: [path.join(ws, 'apps/pyapp')], runMode: 'host' }),
      },
    },
  });
}, 900_000);

afterAll(() => {
  rmSync(moduleFile, { force: true });
  rmSync(path.join(sitePackages, '__pycache__', `${moduleName}.cpython-311.pyc`), { force: true });
  if (madeSitePackages) rmSync(sitePackages, { recursive: true, force: true });
  releaseSiteLock();
});

const STEPS = ['resolve', 'trace', 'merge', 'package'];

/** The names in the site directory pyapp imports from. Collection lists it (which distribution owns
 * a module), so pyapp's lock records its listing; other test runs on this machine add and remove
 * their own modules there, which is a real change of an input. */
const siteNames = () => readdirSync(sitePackages).sort().join('\0');

/** A plain run of pyapp after one that traced (when the site directory read `names`): every task a
 * hit, or, when another process changed the site directory since, trace again. */
async function expectPyappNoop(names: string): Promise<void> {
  const run = await nx(ws, ['run', 'pyapp:bundle'], env);
  expect(run.status).toBe(0);
  if (siteNames() === names) expect(run.output).toMatch(/Cache:\s+5\/5 hit/);
  else expect(run.tasks['pyapp:trace']).toBe('run');
}
const bin = (dir: string, bundle: string, entry: string) => path.join(dir, 'dist/bundles', bundle, 'bin', entry);

describe('a program another project builds', () => {
  test('capp depends on cprog:build, and a C source edit reaches the bundle in the same run', async () => {
    const first = await nx(ws, ['run', 'capp:bundle'], env);
    if (process.env.DEBUG_E2E) console.log(first.output);
    expect(first.status).toBe(0);
    expect(first.tasks['cprog:build']).toBe('run');
    expect(runOnHost([bin(ws, 'capp', 'hello')]).stdout).toBe('hello v1\n');

    const noop = await nx(ws, ['run', 'capp:bundle'], env);
    expect(noop.output).toMatch(/Cache:\s+6\/6 hit/);

    writeProjects(ws, { 'apps/cprog': { 'hello.c': helloC('hello v2') } });
    const edited = await nx(ws, ['run', 'capp:bundle'], env);
    expect(edited.status).toBe(0);
    for (const task of ['cprog:build', ...STEPS.map((s) => `capp:${s}`)]) expect(edited.tasks[task]).toBe('run');
    expect(runOnHost([bin(ws, 'capp', 'hello')]).stdout).toBe('hello v2\n');
  });

  test('the resolve fingerprint hashes no workspace file and no directory above the workspace', () => {
    const digest = execFileSync(process.execPath, ['node_modules/sidebundle/dist/lib/cli/main.js', 'digest', '--config', 'apps/capp/sidebundle.json'], { cwd: ws, encoding: 'utf8' });
    expect(digest).toMatch(/^file \/\S+libc\.so\.6 [0-9a-f]{64}$/m);
    for (const line of digest.split('\n').filter((l) => /^(file|link|absent|dir|listing|other) /.test(l))) {
      const p = line.split(' ')[1]!;
      expect(p === ws || p.startsWith(`${ws}/`) || ws.startsWith(`${p}/`)).toBe(false);
    }
  });
});

describe('a workspace file only the traced run reads', () => {
  test('editing helper.py reruns trace, merge and package, and the bundle prints the new text', async () => {
    const first = await nx(ws, ['run', 'pyapp:bundle'], env);
    expect(first.status).toBe(0);
    expect(runOnHost([bin(ws, 'pyapp', 'tool.py')]).stdout).toBe('helper v1 module v1\n');
    // The first trace wrote sidebundle.lock; the run after it settles, then a no-op hits.
    await nx(ws, ['run', 'pyapp:bundle'], env);
    await expectPyappNoop(siteNames());

    writeProjects(ws, { 'apps/pyapp': { 'helper.py': 'def message():\n    return "helper v2"\n' } });
    const edited = await nx(ws, ['run', 'pyapp:bundle'], env);
    expect(edited.status).toBe(0);
    expect(edited.tasks['pyapp:resolve']).toBe('cache');
    for (const step of ['trace', 'merge', 'package']) expect(edited.tasks[`pyapp:${step}`]).toBe('run');
    const names = siteNames();
    expect(runOnHost([bin(ws, 'pyapp', 'tool.py')]).stdout).toBe('helper v2 module v1\n');
    await expectPyappNoop(names);
  });
});

describe('a file outside the workspace only the traced run reads', () => {
  const lockFile = path.join(ws, 'apps/pyapp/sidebundle.lock');

  test('sidebundle.lock lists it with its digest: sorted, nothing inside the workspace', () => {
    const lock = JSON.parse(readFileSync(lockFile, 'utf8')) as { schema: string; files: Record<string, string> };
    expect(lock.schema).toBe('sidebundle/lock@1');
    const paths = Object.keys(lock.files);
    expect(paths).toContain(moduleFile);
    expect(lock.files[moduleFile]).toMatch(/^[0-9a-f]{64}$/);
    expect([...paths].sort()).toEqual(paths);
    expect(paths.filter((p) => p.startsWith(`${ws}/`))).toEqual([]);
    expect(paths.some((p) => p.startsWith('/usr/lib/python3.11/'))).toBe(true); // the stdlib the run imported
  });

  test('changing it: the next plain run reruns trace, merge and package and the bundle carries the new module', async () => {
    writeFileSync(moduleFile, 'WORD = "module v2"\n');
    const run = await nx(ws, ['run', 'pyapp:bundle'], env);
    expect(run.status).toBe(0);
    expect(run.tasks['pyapp:resolve']).toBe('cache');
    for (const step of ['trace', 'merge', 'package']) expect(run.tasks[`pyapp:${step}`]).toBe('run');
    const names = siteNames();
    // Run it with the host's copy moved away: the output comes from the bundle's own copy.
    renameSync(moduleFile, `${moduleFile}.away`);
    try {
      expect(runOnHost([bin(ws, 'pyapp', 'tool.py')]).stdout).toBe('helper v2 module v2\n');
    } finally {
      renameSync(`${moduleFile}.away`, moduleFile);
    }
    // Only the recorded digest changed, not the list: the next run is a full hit.
    await expectPyappNoop(names);
  });
});

describe('a file added to a directory that collection took whole', () => {
  // A package no metadata claims, in a site directory outside the workspace that this test owns:
  // the traced run imports the package, and collection takes its whole directory. extra.py is
  // imported only when SB_EXTRA is set, so no traced run reads it: only collection brings it.
  const site = path.join(base, 'pylib', 'site-packages');
  const pkg = path.join(site, 'sbcollect');
  const extra = path.join(pkg, 'extra.py');
  const inPayload = (file: string) => path.join(ws, 'dist/bundles/pycoll/payload', file);
  const tool = `#!/usr/bin/python3\nimport os, sys\nsys.path.insert(0, ${JSON.stringify(site)})\nimport sbcollect\nif os.environ.get("SB_EXTRA"):\n    import sbcollect.extra\nprint(sbcollect.WORD)\n`;

  test('the next plain run reruns trace and the bundle holds the new file', async () => {
    mkdirSync(pkg, { recursive: true });
    writeFileSync(path.join(pkg, '__init__.py'), 'WORD = "init"\n');
    writeProjects(ws, {
      'apps/pycoll': {
        'project.json': JSON.stringify({ name: 'pycoll' }),
        'tool.py': tool,
        // The workspace and the site directory sit under /tmp, which the trace policy leaves out.
        'sidebundle.json': JSON.stringify({ name: 'pycoll', entries: [{ host: './tool.py', trace: './tool.py' }], traceInclude: [path.join(ws, 'apps/pycoll'), path.dirname(site)], runMode: 'host' }),
      },
    });
    const first = await nx(ws, ['run', 'pycoll:bundle'], env);
    expect(first.status).toBe(0);
    expect(existsSync(inPayload(path.join(pkg, '__init__.py')))).toBe(true);
    expect(existsSync(inPayload(extra))).toBe(false);
    const lock = JSON.parse(readFileSync(path.join(ws, 'apps/pycoll/sidebundle.lock'), 'utf8')) as { listings?: Record<string, string> };
    expect(Object.keys(lock.listings ?? {})).toContain(pkg);
    await nx(ws, ['run', 'pycoll:bundle'], env); // the first trace wrote the lock: this run settles
    expect((await nx(ws, ['run', 'pycoll:bundle'], env)).output).toMatch(/Cache:\s+5\/5 hit/);

    writeFileSync(extra, 'WORD = "extra"\n');
    const run = await nx(ws, ['run', 'pycoll:bundle'], env);
    expect(run.status).toBe(0);
    for (const step of ['trace', 'merge', 'package']) expect(run.tasks[`pycoll:${step}`]).toBe('run');
    expect(readFileSync(inPayload(extra), 'utf8')).toBe('WORD = "extra"\n');
  });
});

describe('clones at other paths', () => {
  test('a clone outside /tmp sharing the cache directory hits resolve (and the bundle runs)', async () => {
    const other = mkdtempSync('/root/sb-e2e-');
    try {
      const clone = path.join(other, 'workspace');
      cloneWorkspace(ws, clone);
      const run = await nx(clone, ['run', 'capp:bundle'], env);
      expect(run.status).toBe(0);
      expect(run.tasks['cprog:build']).toBe('cache');
      expect(run.tasks['capp:resolve']).toBe('cache');
      expect(runOnHost([bin(clone, 'capp', 'hello')]).stdout).toBe('hello v2\n');
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });
});

describe('a failing trace command', () => {
  const failing = (extra: Record<string, unknown>) => ({
    'project.json': JSON.stringify({ name: 'failing' }),
    // Printed on stdout: under ptrace the tracer loses what a traced command writes to fd 2.
    'fail.sh': '#!/bin/sh\necho "cannot find the widget"\nexit 3\n',
    'sidebundle.json': JSON.stringify({ name: 'failing', entries: [{ host: './fail.sh', trace: './fail.sh' }], ...extra }),
  });

  test('fails the trace task with the command, its status and its output', async () => {
    writeProjects(ws, { 'apps/failing': failing({}) });
    const run = await nx(ws, ['run', 'failing:bundle'], env);
    expect(run.status).not.toBe(0);
    expect(run.tasks['failing:trace']).toBe('run');
    expect(run.output).toContain('cannot find the widget');
    expect(run.output).toMatch(/trace command of fail\.sh exited with status 3: \S*fail\.sh/);
    expect(run.output).toMatch(/allowTraceFailure/);
    expect(existsSync(path.join(ws, 'dist/bundles/failing'))).toBe(false);
    // Not cached: the next run fails again.
    const again = await nx(ws, ['run', 'failing:bundle'], env);
    expect(again.status).not.toBe(0);
    expect(again.tasks['failing:trace']).toBe('run');
  });

  test('allowTraceFailure accepts it', async () => {
    writeProjects(ws, { 'apps/failing': failing({ allowTraceFailure: true }) });
    const run = await nx(ws, ['run', 'failing:bundle'], env);
    expect(run.status).toBe(0);
    expect(runOnHost([bin(ws, 'failing', 'fail.sh')]).status).toBe(3);
  });
});

describe('sidebundle.json files the plugin must not trip over', () => {
  test('a stray sidebundle.json (no project.json or package.json beside it) makes no project and breaks nothing', async () => {
    writeProjects(ws, { 'fixtures/copy': { 'sidebundle.json': '{ "name": "copy", "entries": [' } });
    try {
      const run = await nx(ws, ['show', 'projects', '--json'], env);
      expect(run.status).toBe(0);
      expect(run.output).toContain('"capp"');
      expect(run.output).not.toContain('copy');
    } finally {
      rmSync(path.join(ws, 'fixtures'), { recursive: true, force: true });
    }
  });

  test('a malformed sidebundle.json is an error naming the file and the parse error', async () => {
    writeProjects(ws, { 'apps/broken': { 'project.json': JSON.stringify({ name: 'broken' }), 'sidebundle.json': '{ "name": "broken", }' } });
    try {
      const run = await nx(ws, ['show', 'projects'], env);
      expect(run.status).not.toBe(0);
      expect(run.output).toMatch(/apps\/broken\/sidebundle\.json is not valid JSON: .*(Unexpected|Expected)/);
    } finally {
      rmSync(path.join(ws, 'apps/broken'), { recursive: true, force: true });
    }
  });
});
