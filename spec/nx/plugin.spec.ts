// The inferred targets and dependencies, without Nx: which projects get targets, what each
// target hashes, and which project an entry's producer is.
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

import type { CreateDependenciesContext, CreateNodesContextV2, ProjectConfiguration } from '@nx/devkit';

import { createDependencies, createNodes } from '../../plugins/plugin';
import { tempDir } from '../helpers/tmp';

function workspace(files: Record<string, string>): string {
  const root = tempDir('sb-plugin-');
  for (const [file, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    writeFileSync(path.join(root, file), content);
  }
  return root;
}

async function nodes(root: string, configFiles: string[]) {
  const context = { workspaceRoot: root, nxJsonConfiguration: {} } as CreateNodesContextV2;
  return createNodes[1](configFiles, {}, context);
}

test('a sidebundle.json beside a project.json or package.json makes targets; a stray one none', async () => {
  const root = workspace({
    'apps/a/project.json': '{}', 'apps/a/sidebundle.json': JSON.stringify({ name: 'a', entries: ['/usr/bin/jq'] }),
    'libs/b/package.json': '{}', 'libs/b/sidebundle.json': JSON.stringify({ name: 'b', entries: ['/usr/bin/jq'] }),
    'fixtures/sidebundle.json': '{ not json',
  });
  const result = await nodes(root, ['apps/a/sidebundle.json', 'libs/b/sidebundle.json', 'fixtures/sidebundle.json']);
  expect(Object.keys(result[0]![1].projects ?? {})).toEqual(['apps/a']);
  expect(Object.keys(result[1]![1].projects ?? {})).toEqual(['libs/b']);
  expect(result[2]![1]).toEqual({});
});

test('a malformed sidebundle.json is an error naming the file and the parse error', async () => {
  const root = workspace({ 'apps/a/project.json': '{}', 'apps/a/sidebundle.json': '{ "name": "a", }' });
  await expect(nodes(root, ['apps/a/sidebundle.json'])).rejects.toThrow(/apps\/a\/sidebundle\.json is not valid JSON: .*(Unexpected|Expected)/);
});

test('resolve hashes the entries it names and dependency builds; trace the project files but not the lock', async () => {
  const root = workspace({
    'apps/a/project.json': '{}',
    'apps/a/sidebundle.json': JSON.stringify({ name: 'a', entries: ['/usr/bin/jq', { host: './tool.py', trace: './tool.py' }, '../../dist/c/hello::trace=x'], copyDirs: ['./data:/opt/data'] }),
  });
  const targets = (await nodes(root, ['apps/a/sidebundle.json']))[0]![1].projects!['apps/a']!.targets!;
  expect(targets.resolve!.dependsOn).toEqual(['^build']);
  expect(targets.resolve!.inputs).toEqual([
    '{workspaceRoot}/apps/a/data', '{workspaceRoot}/apps/a/data/**/*',
    '{workspaceRoot}/apps/a/tool.py', '{workspaceRoot}/apps/a/tool.py/**/*',
    '{workspaceRoot}/dist/c/hello', '{workspaceRoot}/dist/c/hello/**/*',
    '^default',
    { dependentTasksOutputFiles: '**/*', transitive: true },
    { runtime: 'node node_modules/sidebundle/dist/lib/cli/main.js digest --config apps/a/sidebundle.json' },
    { externalDependencies: ['sidebundle'] },
  ]);
  expect(targets.trace!.inputs).toEqual(expect.arrayContaining(['{projectRoot}/**/*', '!{projectRoot}/sidebundle.lock', { runtime: 'node node_modules/sidebundle/dist/lib/cli/main.js digest --config apps/a/sidebundle.json --traced' }]));
  for (const target of Object.values(targets)) expect(target.inputs ?? []).not.toContain('{projectRoot}/sidebundle.lock');
});

test('an entry inside another project\'s declared output or root depends on that project', async () => {
  const root = workspace({
    'apps/capp/sidebundle.json': JSON.stringify({ name: 'capp', entries: ['../../dist/cprog/hello', '../../libs/scripts/run.sh'] }),
  });
  const project = (p: ProjectConfiguration) => p;
  const projects: Record<string, ProjectConfiguration> = {
    capp: project({ root: 'apps/capp', targets: { resolve: { executor: 'sidebundle:resolve' } } }),
    cprog: project({ root: 'apps/cprog', targets: { build: { executor: 'nx:run-commands', outputs: ['{workspaceRoot}/dist/cprog'] } } }),
    opts: project({ root: 'apps/opts', targets: { build: { executor: 'x', outputs: ['{options.outputPath}'], options: { outputPath: 'dist/elsewhere' } } } }),
    scripts: project({ root: 'libs/scripts' }),
    unrelated: project({ root: 'apps/unrelated', targets: { build: { executor: 'x', outputs: ['{projectRoot}/dist', '{workspaceRoot}/dist/cprog-other/**/*'] } } }),
  };
  const context = { workspaceRoot: root, projects, nxJsonConfiguration: {}, externalNodes: {}, fileMap: { projectFileMap: {}, nonProjectFiles: [] }, filesToProcess: { projectFileMap: {}, nonProjectFiles: [] } } as CreateDependenciesContext;
  const deps = await createDependencies({}, context);
  expect(deps).toEqual([
    { source: 'capp', target: 'cprog', type: 'implicit' },
    { source: 'capp', target: 'scripts', type: 'implicit' },
  ]);
});

test('a project\'s own target of an inferred name keeps it, and the chain gets the collision prefix', async () => {
  const root = workspace({
    'apps/a/project.json': JSON.stringify({ targets: { package: { executor: 'nx:run-commands' } } }),
    'apps/a/sidebundle.json': JSON.stringify({ name: 'a', entries: ['/usr/bin/jq'] }),
    'apps/b/package.json': JSON.stringify({ scripts: { bundle: 'webpack' } }),
    'apps/b/sidebundle.json': JSON.stringify({ name: 'b', entries: ['/usr/bin/jq'] }),
  });
  const [a, b] = await nodes(root, ['apps/a/sidebundle.json', 'apps/b/sidebundle.json']);
  const names = ['sidebundle-bundle', 'sidebundle-merge', 'sidebundle-package', 'sidebundle-resolve', 'sidebundle-trace'];
  expect(Object.keys(a![1].projects!['apps/a']!.targets!).sort()).toEqual(names);
  expect(Object.keys(b![1].projects!['apps/b']!.targets!).sort()).toEqual(names);
  expect(a![1].projects!['apps/a']!.targets!['sidebundle-trace']!.dependsOn).toEqual(['sidebundle-resolve']);
});

test('every inferred target carries metadata: description, technologies and help with example options', async () => {
  const root = workspace({ 'apps/a/project.json': '{}', 'apps/a/sidebundle.json': JSON.stringify({ name: 'a', entries: ['/usr/bin/jq'] }) });
  const targets = (await nodes(root, ['apps/a/sidebundle.json']))[0]![1].projects!['apps/a']!.targets!;
  expect(Object.keys(targets).sort()).toEqual(['bundle', 'merge', 'package', 'resolve', 'trace']);
  for (const target of Object.values(targets)) {
    expect(target.metadata).toEqual({
      description: expect.stringMatching(/\w/),
      technologies: ['sidebundle'],
      help: { command: expect.stringMatching(/sidebundle .*--help/), example: { options: expect.any(Object) } },
    });
  }
});

test('options given to bundle reach the package task (params forwarded through the task graph)', async () => {
  const { createTaskGraph } = require('nx/src/tasks-runner/create-task-graph') as typeof import('nx/src/tasks-runner/create-task-graph');
  const root = workspace({ 'apps/a/project.json': '{}', 'apps/a/sidebundle.json': JSON.stringify({ name: 'a', entries: ['/usr/bin/jq'] }) });
  const targets = (await nodes(root, ['apps/a/sidebundle.json']))[0]![1].projects!['apps/a']!.targets!;
  const graph = { nodes: { a: { name: 'a', type: 'app', data: { root: 'apps/a', targets } } }, dependencies: { a: [] }, externalNodes: {} } as unknown as import('@nx/devkit').ProjectGraph;
  const tasks = createTaskGraph(graph, {}, ['a'], ['bundle'], undefined, { runMode: 'host' }).tasks;
  expect(Object.keys(tasks).sort()).toEqual(['a:bundle', 'a:merge', 'a:package', 'a:resolve', 'a:trace']);
  expect(tasks['a:package']!.overrides).toMatchObject({ runMode: 'host' });
  expect(tasks['a:merge']!.overrides).not.toHaveProperty('runMode');
});

test('sidebundle linked from a directory (no external node in Nx) is hashed by what it prints (its version first), not named as an external dependency', async () => {
  const root = workspace({ 'apps/a/project.json': '{}', 'apps/a/sidebundle.json': JSON.stringify({ name: 'a', entries: ['/usr/bin/jq'] }) });
  const installed = (await nodes(root, ['apps/a/sidebundle.json']))[0]![1].projects!['apps/a']!.targets!;
  for (const target of Object.values(installed)) expect(target.inputs).toContainEqual({ externalDependencies: ['sidebundle'] });
  mkdirSync(path.join(root, 'node_modules'));
  symlinkSync(path.resolve(__dirname, '../..'), path.join(root, 'node_modules/sidebundle'));
  const linked = (await nodes(root, ['apps/a/sidebundle.json']))[0]![1].projects!['apps/a']!.targets!;
  // Where the linked copy ships sidebundle-fingerprint, the replayed resolve fingerprint (a few
  // stats per task); else --version (Nx runs a runtime input for every task naming it).
  const native = existsSync(path.join(root, 'node_modules/sidebundle/native/prebuilt/sidebundle-fingerprint'));
  const fingerprint = (linked.resolve!.inputs ?? []).find((i) => typeof i === 'object' && 'runtime' in i);
  expect(fingerprint).toEqual({ runtime: expect.stringMatching(/(^| )node node_modules\/sidebundle\/dist\/lib\/cli\/main\.js digest --config apps\/a\/sidebundle\.json$/) });
  const version = native ? fingerprint : { runtime: 'node node_modules/sidebundle/dist/lib/cli/main.js --version' };
  for (const target of Object.values(linked)) {
    expect(target.inputs).not.toContainEqual({ externalDependencies: ['sidebundle'] });
    expect(target.inputs).toContainEqual(version);
  }
});

test('the digests run through the native sidebundle-fingerprint where the package ships it', async () => {
  const root = workspace({ 'apps/a/project.json': '{}', 'apps/a/sidebundle.json': JSON.stringify({ name: 'a', entries: ['/usr/bin/jq'] }) });
  const binary = path.join(root, 'node_modules/sidebundle/native/prebuilt/sidebundle-fingerprint');
  mkdirSync(path.dirname(binary), { recursive: true });
  writeFileSync(binary, '', { mode: 0o755 });
  const targets = (await nodes(root, ['apps/a/sidebundle.json']))[0]![1].projects!['apps/a']!.targets!;
  const wrapped = 'node_modules/sidebundle/native/prebuilt/sidebundle-fingerprint node_modules/.cache/sidebundle/fingerprints node node_modules/sidebundle/dist/lib/cli/main.js digest --config apps/a/sidebundle.json';
  expect(targets.resolve!.inputs).toContainEqual({ runtime: wrapped });
  expect(targets.trace!.inputs).toContainEqual({ runtime: `${wrapped} --traced` });
});
