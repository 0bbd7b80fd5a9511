// sidebundle as an Nx plugin, end to end in a real workspace: inferred targets, Nx's cache hits
// and misses for files outside the workspace, restoring outputs, a shared cache across clones,
// and option errors.
import { copyFileSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import * as path from 'node:path';

import { bareRootfs } from '../fixtures/rootfs';
import { runInRoot, runOnHost } from '../fixtures/run-in-root';
import { compile, sharedLibrary } from '../helpers/cc';
import { tempDir } from '../helpers/tmp';
import { contentDigest } from '../helpers/tree';
import { startRemoteCache } from './remote-cache';
import { cloneWorkspace, createWorkspace, nx, packRepository, writeProjects } from './workspace';

jest.setTimeout(300_000);

const base = tempDir('sb-nx-');
const ws = path.join(base, 'workspace');
const root = path.join(base, 'greeter-root');
const LIB = path.join(root, 'usr/lib/x86_64-linux-gnu');

function buildGreeterRoot(message: string): void {
  sharedLibrary(LIB, 'greet', 1, `#include <stdio.h>\nvoid greet(void) { puts("${message}"); }\n`);
}

const toolConfig = (trace: string) => JSON.stringify({
  name: 'tool',
  entries: ['/usr/bin/jq', { host: './hello.sh', trace }],
  traceBackend: 'auto',
});

beforeAll(() => {
  // A tiny root of its own for the greeter: its loader, libc, and a library we can change.
  mkdirSync(LIB, { recursive: true });
  mkdirSync(path.join(root, 'usr/lib64'), { recursive: true });
  for (const f of ['ld-linux-x86-64.so.2', 'libc.so.6']) copyFileSync(path.join('/usr/lib/x86_64-linux-gnu', f), path.join(LIB, f));
  symlinkSync('usr/lib', path.join(root, 'lib'));
  symlinkSync('usr/lib64', path.join(root, 'lib64'));
  symlinkSync('/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2', path.join(root, 'usr/lib64/ld-linux-x86-64.so.2'));
  buildGreeterRoot('greetings v1');
  compile(path.join(root, 'usr/bin/greeter'), 'void greet(void); int main(void) { greet(); return 0; }', [`-L${LIB}`, '-lgreet']);

  const tarball = packRepository(path.join(base, 'pack'));
  createWorkspace(ws, {
    tarball,
    projects: {
      'apps/tool': {
        'project.json': JSON.stringify({ name: 'tool' }),
        'hello.sh': '#!/bin/sh\necho "hello from $(echo tool | sed s/tool/the-tool/)"\n',
        'sidebundle.json': toolConfig('./hello.sh'),
      },
      'apps/greeter': {
        'project.json': JSON.stringify({ name: 'greeter' }),
        'sidebundle.json': JSON.stringify({ name: 'greeter', entries: ['/usr/bin/greeter'], traceRoot: root, emitSingleFile: true }),
      },
    },
  });
});

const STEPS = ['resolve', 'trace', 'merge', 'package'];

test('nx run tool:bundle builds a bundle that runs in the bare rootfs', async () => {
  const run = await nx(ws, ['run', 'tool:bundle']);
  expect(run.status).toBe(0);
  for (const step of STEPS) expect(run.tasks[`tool:${step}`]).toBe('run');
  const bundle = path.join(ws, 'dist/bundles/tool');
  const inBare = runInRoot(bareRootfs(), ['/tmp/b/bin/hello.sh'], { binds: { [bundle]: '/tmp/b' } });
  expect(inBare.stdout).toBe('hello from the-tool\n');
  expect(runInRoot(bareRootfs(), ['/tmp/b/bin/jq', '-n', '1+1'], { binds: { [bundle]: '/tmp/b' } }).stdout).toBe('2\n');
});

test('once sidebundle.lock is written, a no-op run is a cache hit and does no bundling work', async () => {
  // The first trace listed what it read outside the workspace in sidebundle.lock (committed
  // beside sidebundle.json); the run after it hashes that list once: trace reruns from the step
  // cache and leaves the lock as it was.
  const lock = path.join(ws, 'apps/tool/sidebundle.lock');
  const written = readFileSync(lock, 'utf8');
  const settle = await nx(ws, ['run', 'tool:bundle']);
  expect(settle.status).toBe(0);
  expect(settle.tasks['tool:resolve']).toBe('cache');
  expect(settle.output).toContain('sidebundle trace: reused from the step cache');
  expect(readFileSync(lock, 'utf8')).toBe(written);

  const run = await nx(ws, ['run', 'tool:bundle']);
  expect(run.status).toBe(0);
  for (const step of [...STEPS, 'bundle']) expect(run.tasks[`tool:${step}`]).toBe('cache');
  expect(run.output).toMatch(/Cache:\s+5\/5 hit/);
  expect(run.output).toContain('Nx read the output from the cache instead of running the command for 5 out of 5 tasks');
});

test('changing only the trace command reuses resolve and reruns trace, merge and package', async () => {
  writeProjects(ws, { 'apps/tool': { 'sidebundle.json': toolConfig('./hello.sh --again') } });
  const run = await nx(ws, ['run', 'tool:bundle']);
  expect(run.status).toBe(0);
  expect(run.tasks['tool:resolve']).toBe('cache');
  for (const step of ['trace', 'merge', 'package']) expect(run.tasks[`tool:${step}`]).toBe('run');
});

test('a library changing on the host (under the trace root) reruns everything downstream', async () => {
  expect((await nx(ws, ['run', 'greeter:bundle'])).status).toBe(0);
  expect(runOnHost([path.join(ws, 'dist/bundles/greeter/bin/greeter')]).stdout).toBe('greetings v1\n');
  expect(Object.values((await nx(ws, ['run', 'greeter:bundle'])).tasks).every((t) => t === 'cache')).toBe(true);

  // The single file is an output of the package target too: restored from Nx's cache.
  const single = path.join(ws, 'dist/bundles/greeter.run');
  const singleCache = { SIDEBUNDLE_CACHE_DIR: path.join(base, 'single-cache') };
  expect(runOnHost([single], { env: singleCache }).stdout).toBe('greetings v1\n');
  runOnHost(['rm', single]);
  expect(Object.values((await nx(ws, ['run', 'greeter:bundle'])).tasks).every((t) => t === 'cache')).toBe(true);
  expect(runOnHost([single], { env: singleCache }).stdout).toBe('greetings v1\n');

  buildGreeterRoot('greetings v2');
  const run = await nx(ws, ['run', 'greeter:bundle']);
  expect(run.status).toBe(0);
  for (const step of STEPS) expect(run.tasks[`greeter:${step}`]).toBe('run');
  expect(runOnHost([path.join(ws, 'dist/bundles/greeter/bin/greeter')]).stdout).toBe('greetings v2\n');
  expect(runOnHost([single], { env: singleCache }).stdout).toBe('greetings v2\n');
});

test('deleting the output and re-running restores it from the cache, identical', async () => {
  const bundle = path.join(ws, 'dist/bundles/tool');
  const before = contentDigest(bundle);
  const manifest = readFileSync(path.join(bundle, 'manifest.lock'));
  runOnHost(['rm', '-rf', path.join(ws, 'dist')]);
  const run = await nx(ws, ['run', 'tool:bundle']);
  expect(run.status).toBe(0);
  for (const step of STEPS) expect(run.tasks[`tool:${step}`]).toBe('cache');
  expect(readFileSync(path.join(bundle, 'manifest.lock'))).toEqual(manifest);
  expect(contentDigest(bundle)).toBe(before);
  expect(runOnHost([path.join(bundle, 'bin/hello.sh')]).stdout).toBe('hello from the-tool\n');
});

test('two clones sharing a remote cache: the second clone gets a hit', async () => {
  // Nx 24 indexes its local cache per workspace, so sharing is done the way teams do it: a
  // self-hosted remote cache (Nx's OpenAPI contract) on loopback.
  const remote = await startRemoteCache();
  try {
    const env = { NX_SELF_HOSTED_REMOTE_CACHE_SERVER: remote.url, NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN: remote.token };
    const [first, second] = [path.join(base, 'clone-a'), path.join(base, 'clone-b')];
    cloneWorkspace(ws, first);
    cloneWorkspace(ws, second);
    const a = await nx(first, ['run', 'tool:bundle'], env);
    expect(a.status).toBe(0);
    expect(Object.values(a.tasks).filter((t) => t === 'run').length).toBeGreaterThan(0);
    expect(remote.requests.filter((r) => r.startsWith('PUT')).length).toBeGreaterThanOrEqual(4);
    const b = await nx(second, ['run', 'tool:bundle'], env);
    expect(b.status).toBe(0);
    for (const step of [...STEPS, 'bundle']) expect(b.tasks[`tool:${step}`]).toBe('cache');
    expect(b.output).toMatch(/\[remote cache\]/);
    expect(runOnHost([path.join(second, 'dist/bundles/tool/bin/jq'), '-n', '"ok"']).stdout).toBe('"ok"\n');
    expect(runOnHost([path.join(second, 'dist/bundles/tool/bin/hello.sh')]).stdout).toBe('hello from the-tool\n');
  } finally {
    await remote.close();
  }
});

describe('option errors fail the target with a clear message, not a stack trace', () => {
  test.each([
    ['an unknown entry path', { name: 'bad', entries: ['/no/such/program'] }, /entry \/no\/such\/program does not exist/],
    ['an invalid backend', { name: 'bad', entries: ['/usr/bin/jq'], traceBackend: 'turbo' }, /traceBackend "turbo" is not one of off, auto, ptrace, fanotify, combined/],
    ['no entries', { name: 'bad', entries: [] }, /"entries" must list at least one program/],
  ])('%s', async (_what, config, message) => {
    writeProjects(ws, { 'apps/bad': { 'project.json': JSON.stringify({ name: 'bad' }), 'sidebundle.json': JSON.stringify(config) } });
    const run = await nx(ws, ['run', 'bad:resolve', '--skip-nx-cache']);
    expect(run.status).not.toBe(0);
    expect(run.output).toMatch(message);
    expect(run.output).toMatch(/hint: /);
    expect(run.output).not.toMatch(/^\s+at .+\(.+:\d+:\d+\)$/m);
  });
});
