// A Node app project in Nx, without Nx running: the configuration generator finds its entry (the
// main file its build target writes, or its package.json's bin/main), and the plugin makes the
// resolve target depend on the project's own build when an entry lies in its output, and the
// trace target (where collection reads node_modules) hash the root lockfile and that output.
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

import { addProjectConfiguration, readJson, writeJson, type CreateNodesContextV2, type ProjectGraph, type Tree } from '@nx/devkit';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';

import { configurationGenerator } from '../../generators/configuration/configuration';
import { buildOutputMain } from '../../generators/configuration/node-app';
import { createNodes } from '../../plugins/plugin';
import { tempDir } from '../helpers/tmp';

describe('configuration generator: a Node app project', () => {
  let tree: Tree;
  beforeEach(() => {
    tree = createTreeWithEmptyWorkspace();
  });
  const entriesOf = (root: string) => readJson(tree, `${root}/sidebundle.json`).entries;

  test('an @nx/esbuild build: the bundle it writes, relative to the project', async () => {
    addProjectConfiguration(tree, 'api', { root: 'apps/api', targets: { build: { executor: '@nx/esbuild:esbuild', options: { outputPath: 'dist/apps/api', main: 'apps/api/src/main.ts' } } } });
    await configurationGenerator(tree, { project: 'api' });
    expect(entriesOf('apps/api')).toEqual(['../../dist/apps/api/main.js']);
  });

  test('an @nx/js:tsc build: the compiled main at its place under the project root; no entries given and an empty prompt answer alike', async () => {
    addProjectConfiguration(tree, 'cli', { root: 'apps/cli', targets: { build: { executor: '@nx/js:tsc', options: { outputPath: 'dist/apps/cli', main: 'apps/cli/src/main.ts', tsConfig: 'apps/cli/tsconfig.app.json' } } } });
    await configurationGenerator(tree, { project: 'cli', entries: '' });
    expect(entriesOf('apps/cli')).toEqual(['../../dist/apps/cli/src/main.js']);
  });

  test('webpack and an explicit outputFileName; tsc with a rootDir; unknown executors give nothing', () => {
    expect(buildOutputMain({ executor: '@nx/webpack:webpack', options: { outputPath: 'dist/apps/w', main: 'apps/w/src/main.ts' } }, 'apps/w')).toBe('dist/apps/w/main.js');
    expect(buildOutputMain({ executor: '@nx/esbuild:esbuild', options: { outputPath: '{workspaceRoot}/dist/e', main: 'apps/e/src/server.mts', outputFileName: 'index.cjs' } }, 'apps/e')).toBe('dist/e/index.cjs');
    expect(buildOutputMain({ executor: '@nx/js:swc', options: { outputPath: 'dist/s', main: 'apps/s/src/lib/main.ts', rootDir: 'apps/s/src' } }, 'apps/s')).toBe('dist/s/lib/main.js');
    expect(buildOutputMain({ executor: 'nx:run-commands', options: { outputPath: 'dist/x', main: 'x.ts' } }, 'apps/x')).toBeUndefined();
  });

  test('without a known build: package.json "bin" (the one named like the package), else "main"', async () => {
    addProjectConfiguration(tree, 'tool', { root: 'packages/tool' });
    writeJson(tree, 'packages/tool/package.json', { name: '@ws/tool', bin: { other: './bin/other.js', tool: './bin/tool.js' }, main: './dist/index.js' });
    addProjectConfiguration(tree, 'srv', { root: 'packages/srv', targets: { build: { executor: 'nx:run-commands', outputs: ['{projectRoot}/dist'] } } });
    writeJson(tree, 'packages/srv/package.json', { name: 'srv', main: 'dist/main.js' });
    await configurationGenerator(tree, { project: 'tool' });
    await configurationGenerator(tree, { project: 'srv' });
    expect(entriesOf('packages/tool')).toEqual(['./bin/tool.js']);
    expect(entriesOf('packages/srv')).toEqual(['./dist/main.js']);
  });

  test('a project that is no Node app, without --entries, is an error that says what to do', async () => {
    addProjectConfiguration(tree, 'lib', { root: 'libs/lib' });
    await expect(configurationGenerator(tree, { project: 'lib' })).rejects.toMatchObject({ code: 'GENERATOR_NO_ENTRIES', message: expect.stringMatching(/lib is no Node app/), hint: expect.stringMatching(/--entries/) });
    expect(tree.exists('libs/lib/sidebundle.json')).toBe(false);
  });
});

describe('plugin: a Node app whose entry is its own build output', () => {
  const root = tempDir('sb-plugin-node-');
  const write = (file: string, content: unknown) => {
    mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    writeFileSync(path.join(root, file), typeof content === 'string' ? content : JSON.stringify(content));
  };
  write('apps/api/project.json', { name: 'api', targets: { build: { executor: '@nx/esbuild:esbuild', options: { outputPath: 'dist/apps/api', main: 'apps/api/src/main.ts' } } } });
  write('apps/api/sidebundle.json', { name: 'api', entries: ['../../dist/apps/api/main.js'] });
  write('apps/cli/package.json', { name: 'cli', nx: { targets: { build: { executor: 'nx:run-commands', outputs: ['{projectRoot}/dist'] } } } });
  write('apps/cli/bin/cli', '#!/usr/bin/env node\nrequire("../dist/main.js");\n');
  write('apps/cli/sidebundle.json', { name: 'cli', entries: ['./bin/cli'] });
  write('package.json', { name: 'ws', private: true, workspaces: ['libs/*', 'packages/tools/'] });
  write('apps/jq/project.json', { name: 'jq', targets: { build: { executor: 'nx:run-commands', outputs: ['{workspaceRoot}/dist/jq'] } } });
  write('apps/jq/sidebundle.json', { name: 'jq', entries: ['/usr/bin/jq'] });

  const targetsOf = async (project: string) => {
    const context = { workspaceRoot: root, nxJsonConfiguration: {} } as CreateNodesContextV2;
    const [[, result]] = await createNodes[1]([`${project}/sidebundle.json`], {}, context) as unknown as [[string, { projects: Record<string, { targets: Record<string, { dependsOn?: unknown[]; inputs?: unknown[] }> }> }]];
    return result.projects[project]!.targets;
  };

  test('resolve depends on the project\'s own build (outputPath) and on its dependencies\' builds', async () => {
    const targets = await targetsOf('apps/api');
    expect(targets.resolve!.dependsOn).toEqual(['build', '^build']);
    // The task graph Nx builds from it: api:build runs before api:resolve.
    const { createTaskGraph } = require('nx/src/tasks-runner/create-task-graph') as typeof import('nx/src/tasks-runner/create-task-graph');
    const buildTarget = { executor: '@nx/esbuild:esbuild', options: { outputPath: 'dist/apps/api', main: 'apps/api/src/main.ts' } };
    const graph = { nodes: { api: { name: 'api', type: 'app', data: { root: 'apps/api', targets: { ...targets, build: buildTarget } } } }, dependencies: { api: [] }, externalNodes: {} } as unknown as ProjectGraph;
    const tasks = createTaskGraph(graph, {}, ['api'], ['trace'], undefined, {});
    expect(Object.keys(tasks.tasks).sort()).toEqual(['api:build', 'api:resolve', 'api:trace']);
    expect(tasks.dependencies['api:resolve']).toEqual([{ id: 'api:build' }]);
  });

  test('trace hashes the root lockfile, the npm workspace packages, the sources of projects it depends on and the build output (transitively) for a .js or #!node entry', async () => {
    for (const project of ['apps/api', 'apps/cli']) {
      const trace = (await targetsOf(project)).trace!;
      expect(trace.inputs).toEqual(expect.arrayContaining(['{workspaceRoot}/package-lock.json', '{workspaceRoot}/libs/*/**/*', '{workspaceRoot}/packages/tools/**/*', '^default', { dependentTasksOutputFiles: '**/*', transitive: true }]));
    }
  });

  test('an entry outside the build output (or no Node app) gets neither', async () => {
    const cli = await targetsOf('apps/cli');
    expect(cli.resolve!.dependsOn).toEqual(['^build']); // bin/cli is a source, not in {projectRoot}/dist
    const jq = await targetsOf('apps/jq');
    expect(jq.resolve!.dependsOn).toEqual(['^build']);
    expect(jq.trace!.inputs).not.toContain('{workspaceRoot}/package-lock.json');
    expect(jq.trace!.inputs).not.toContain('^default');
    expect(jq.trace!.inputs).not.toContain('{workspaceRoot}/libs/*/**/*');
    expect(jq.trace!.inputs).toContainEqual({ dependentTasksOutputFiles: '**/closure.json' });
  });
});
