import { addProjectConfiguration, readJson, readNxJson, readProjectConfiguration, updateNxJson, type Tree } from '@nx/devkit';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';

import { bundleNameOf, configurationGenerator, splitEntries } from '../../generators/configuration/configuration';
import { initGenerator, PLUGIN } from '../../generators/init/init';

describe('init generator', () => {
  let tree: Tree;
  beforeEach(() => {
    tree = createTreeWithEmptyWorkspace();
  });

  test('registers the plugin and adds the package', async () => {
    await initGenerator(tree, {});
    expect(readNxJson(tree)!.plugins).toContain(PLUGIN);
    expect(readJson(tree, 'package.json').devDependencies.sidebundle).toMatch(/^\^\d+\.\d+\.\d+/);
  });

  test('is idempotent', async () => {
    await initGenerator(tree, {});
    const once = tree.read('nx.json', 'utf8');
    await initGenerator(tree, {});
    expect(tree.read('nx.json', 'utf8')).toBe(once);
    expect(readNxJson(tree)!.plugins!.filter((p) => (typeof p === 'string' ? p : p.plugin) === PLUGIN)).toHaveLength(1);
  });

  test('passes a target prefix to the plugin', async () => {
    await initGenerator(tree, { targetPrefix: 'sb-' });
    expect(readNxJson(tree)!.plugins).toContainEqual({ plugin: PLUGIN, options: { targetPrefix: 'sb-' } });
  });
});

describe('configuration generator', () => {
  let tree: Tree;
  beforeEach(() => {
    tree = createTreeWithEmptyWorkspace();
    addProjectConfiguration(tree, 'tool', { root: 'apps/tool' });
  });

  test('writes sidebundle.json in the project and registers the plugin', async () => {
    await configurationGenerator(tree, { project: 'tool', entries: ['/usr/bin/jq', './tool.py::trace=./tool.py --selftest'], traceBackend: 'ptrace', runMode: 'ns', emitSingleFile: true });
    expect(readJson(tree, 'apps/tool/sidebundle.json')).toEqual({
      $schema: '../../node_modules/sidebundle/sidebundle.schema.json',
      name: 'tool',
      entries: ['/usr/bin/jq', './tool.py::trace=./tool.py --selftest'],
      traceBackend: 'ptrace',
      runMode: 'ns',
      emitSingleFile: true,
    });
    expect(readNxJson(tree)!.plugins).toContain(PLUGIN);
  });

  test('accepts the prompt answer as a comma-separated list, and is idempotent', async () => {
    await configurationGenerator(tree, { project: 'tool', entries: '/usr/bin/jq, /usr/bin/curl', name: 'net' });
    const once = tree.read('apps/tool/sidebundle.json', 'utf8');
    await configurationGenerator(tree, { project: 'tool', entries: '/usr/bin/jq, /usr/bin/curl', name: 'net' });
    expect(tree.read('apps/tool/sidebundle.json', 'utf8')).toBe(once);
    expect(readJson(tree, 'apps/tool/sidebundle.json')).toEqual({ $schema: '../../node_modules/sidebundle/sidebundle.schema.json', name: 'net', entries: ['/usr/bin/jq', '/usr/bin/curl'] });
  });

  test('adds only the new entries to an existing configuration', async () => {
    await configurationGenerator(tree, { project: 'tool', entries: ['/usr/bin/jq'] });
    await configurationGenerator(tree, { project: 'tool', entries: ['/usr/bin/jq::trace=jq --version', '/usr/bin/git'] });
    expect(readJson(tree, 'apps/tool/sidebundle.json').entries).toEqual(['/usr/bin/jq', '/usr/bin/git']);
  });

  test('a comma inside a trace command or quotes does not split the entry', async () => {
    await configurationGenerator(tree, { project: 'tool', entries: './t.py::trace=./t.py --sep=a,b, /usr/bin/jq,jq::name=q' });
    expect(readJson(tree, 'apps/tool/sidebundle.json').entries).toEqual(['./t.py::trace=./t.py --sep=a,b', '/usr/bin/jq', 'jq::name=q']);
    expect(splitEntries('./a.sh::trace=./a.sh 1,2,3,./b.sh::trace=./b.sh "x, y"')).toEqual(['./a.sh::trace=./a.sh 1,2,3', './b.sh::trace=./b.sh "x, y"']);
    expect(splitEntries('/usr/bin/jq, curl')).toEqual(['/usr/bin/jq', 'curl']);
  });

  test('a scoped project name gives a valid bundle name', async () => {
    addProjectConfiguration(tree, '@ws/tool', { root: 'packages/tool' });
    await configurationGenerator(tree, { project: '@ws/tool', entries: '/usr/bin/jq' });
    expect(readJson(tree, 'packages/tool/sidebundle.json').name).toBe('tool');
    expect(bundleNameOf('@ws/my tool+x')).toBe('my-tool-x');
    expect(bundleNameOf('@ws/..')).toBe('bundle');
  });

  test('the sidebundle.json written names the schema in node_modules, relative to the project', async () => {
    addProjectConfiguration(tree, 'root-app', { root: '.' });
    await configurationGenerator(tree, { project: 'root-app', entries: '/usr/bin/jq' });
    expect(readJson(tree, 'sidebundle.json').$schema).toBe('./node_modules/sidebundle/sidebundle.schema.json');
  });

  test('an unknown project is an error', async () => {
    await expect(configurationGenerator(tree, { project: 'nope', entries: ['/usr/bin/jq'] })).rejects.toThrow(/nope/);
  });
});

describe('init generator: target names', () => {
  let tree: Tree;
  beforeEach(() => {
    tree = createTreeWithEmptyWorkspace();
  });

  test('picks a prefix under which no existing target collides, and stores it in nx.json', async () => {
    addProjectConfiguration(tree, 'electron', { root: 'apps/electron', targets: { package: { executor: 'nx:run-commands', options: { command: 'electron-builder' } } } });
    await initGenerator(tree, {});
    expect(readNxJson(tree)!.plugins).toContainEqual({ plugin: PLUGIN, options: { targetPrefix: 'sidebundle-' } });
  });

  test('goes on past a taken prefix, as addPlugin does', async () => {
    addProjectConfiguration(tree, 'a', { root: 'apps/a', targets: { bundle: { executor: 'x' }, 'sidebundle-trace': { executor: 'x' } } });
    await initGenerator(tree, {});
    expect(readNxJson(tree)!.plugins).toContainEqual({ plugin: PLUGIN, options: { targetPrefix: 'sidebundle-2-' } });
  });

  test('without collisions the plugin is registered bare', async () => {
    addProjectConfiguration(tree, 'a', { root: 'apps/a', targets: { build: { executor: 'x' } } });
    await initGenerator(tree, {});
    expect(readNxJson(tree)!.plugins).toContain(PLUGIN);
  });

  test('useInferencePlugins: false writes explicit targets into project.json instead of registering the plugin', async () => {
    updateNxJson(tree, { ...readNxJson(tree)!, useInferencePlugins: false });
    addProjectConfiguration(tree, 'tool', { root: 'apps/tool', targets: { package: { executor: 'x' } } });
    await configurationGenerator(tree, { project: 'tool', entries: ['/usr/bin/jq'] });
    expect(readNxJson(tree)!.plugins ?? []).not.toContain(PLUGIN);
    const targets = readProjectConfiguration(tree, 'tool').targets!;
    expect(Object.keys(targets).sort()).toEqual(['package', 'sidebundle-bundle', 'sidebundle-merge', 'sidebundle-package', 'sidebundle-resolve', 'sidebundle-trace']);
    expect(targets.package).toEqual({ executor: 'x' });
    expect(targets['sidebundle-resolve']!.executor).toBe('sidebundle:resolve');
    expect(targets['sidebundle-bundle']!.dependsOn).toEqual([{ target: 'sidebundle-package', params: 'forward' }]);
    const once = tree.read('apps/tool/project.json', 'utf8');
    await initGenerator(tree, {});
    expect(tree.read('apps/tool/project.json', 'utf8')).toBe(once);
  });
});
