// A project whose own target already has one of the inferred names (`package`), in a real
// workspace: it keeps its target, and the bundle chain works under the prefixed names, both as
// inferred targets and, in a workspace that turned inference plugins off, as the explicit targets
// `nx g sidebundle:init` writes into project.json.
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

import { bareRootfs } from '../fixtures/rootfs';
import { runInRoot } from '../fixtures/run-in-root';
import { tempDir } from '../helpers/tmp';
import { createWorkspace, nx, packRepository, writeProjects } from './workspace';

jest.setTimeout(600_000);

const base = tempDir('sb-nx-collision-');
const ws = path.join(base, 'workspace');

const OWN_PACKAGE = {
  executor: 'nx:run-commands',
  options: { command: 'mkdir -p dist && echo "the app\'s own package target" > dist/own-package.txt' },
};
const hello = (word: string) => `#!/bin/sh\necho "${word} from $(echo app | tr a-z A-Z)"\n`;
const PREFIXED = ['resolve', 'trace', 'merge', 'package', 'bundle'].map((t) => `sidebundle-${t}`);

beforeAll(() => {
  createWorkspace(ws, {
    tarball: packRepository(path.join(base, 'pack')),
    projects: {
      'apps/app': {
        'project.json': JSON.stringify({ name: 'app', targets: { package: OWN_PACKAGE } }),
        'hello.sh': hello('hello'),
        'sidebundle.json': JSON.stringify({ name: 'app', entries: [{ host: './hello.sh', trace: './hello.sh' }] }),
      },
    },
  });
});

interface ShownProject { targets: Record<string, { executor?: string; dependsOn?: unknown[] }> }
async function shown(): Promise<ShownProject> {
  const run = await nx(ws, ['show', 'project', 'app', '--json']);
  expect(run.status).toBe(0);
  return JSON.parse(run.output.slice(run.output.indexOf('{'))) as ShownProject;
}
const runBundle = () => runInRoot(bareRootfs(), ['/tmp/b/bin/hello.sh'], { binds: { [path.join(ws, 'dist/bundles/app')]: '/tmp/b' } });

describe('inferred targets', () => {
  test('the project keeps its own package target; the chain is inferred under the sidebundle- prefix', async () => {
    const { targets } = await shown();
    expect(targets.package!.executor).toBe('nx:run-commands');
    for (const name of PREFIXED) expect(targets[name]).toBeDefined();
    for (const name of ['resolve', 'trace', 'merge', 'bundle']) expect(targets[name]).toBeUndefined();
    expect(targets['sidebundle-package']!.executor).toBe('sidebundle:package');
    expect(targets['sidebundle-trace']!.dependsOn).toEqual(['sidebundle-resolve']);
  });

  test('nx run app:package runs the project\'s own target, and no bundling step', async () => {
    const run = await nx(ws, ['run', 'app:package']);
    expect(run.status).toBe(0);
    expect(Object.keys(run.tasks)).toEqual(['app:package']);
    expect(readFileSync(path.join(ws, 'dist/own-package.txt'), 'utf8')).toBe("the app's own package target\n");
  });

  test('nx run app:sidebundle-bundle runs the prefixed chain, and the bundle runs in the bare root', async () => {
    const run = await nx(ws, ['run', 'app:sidebundle-bundle']);
    if (run.status !== 0) console.log(run.output);
    expect(run.status).toBe(0);
    for (const name of PREFIXED.slice(0, 4)) expect(run.tasks[`app:${name}`]).toBe('run');
    expect(run.tasks['app:package']).toBeUndefined();
    expect(runBundle().stdout).toBe('hello from APP\n');
  });
});

describe('useInferencePlugins: false', () => {
  beforeAll(() => {
    writeFileSync(path.join(ws, 'nx.json'), JSON.stringify({ useInferencePlugins: false }, null, 2));
  });

  test('nx g sidebundle:init writes the chain into project.json under the prefix, beside the own package target', async () => {
    const run = await nx(ws, ['g', 'sidebundle:init', '--skipPackageJson', '--skipFormat']);
    expect(run.status).toBe(0);
    const written = JSON.parse(readFileSync(path.join(ws, 'apps/app/project.json'), 'utf8')) as ShownProject;
    expect(Object.keys(written.targets).sort()).toEqual(['package', ...PREFIXED].sort());
    expect(written.targets.package).toEqual(OWN_PACKAGE);
    expect(JSON.parse(readFileSync(path.join(ws, 'nx.json'), 'utf8'))).not.toHaveProperty('plugins');
  });

  test('the explicit chain builds a bundle with the edited script, and the own package target still runs', async () => {
    writeProjects(ws, { 'apps/app': { 'hello.sh': hello('hi again') } });
    const run = await nx(ws, ['run', 'app:sidebundle-bundle']);
    if (run.status !== 0) console.log(run.output);
    expect(run.status).toBe(0);
    for (const name of ['sidebundle-trace', 'sidebundle-merge', 'sidebundle-package']) expect(run.tasks[`app:${name}`]).toBe('run');
    expect(runBundle().stdout).toBe('hi again from APP\n');
    const own = await nx(ws, ['run', 'app:package', '--skip-nx-cache']);
    expect(own.status).toBe(0);
    expect(Object.keys(own.tasks)).toEqual(['app:package']);
  });
});
