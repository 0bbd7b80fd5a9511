// The Nx versions the package declares as peers (nx and @nx/devkit >=23 <25), each in a real
// workspace that installs the tarball of this repository: npm leaves exactly one @nx/devkit in
// the tree (sidebundle brings none of its own), and `nx run app:bundle` builds a bundle that runs
// in the bare root.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

import { bareRootfs } from '../fixtures/rootfs';
import { runInRoot } from '../fixtures/run-in-root';
import { tempDir } from '../helpers/tmp';
import { createWorkspace, nx, packRepository } from './workspace';

jest.setTimeout(600_000);

const base = tempDir('sb-nx-versions-');
let tarball: string;
beforeAll(() => {
  tarball = packRepository(path.join(base, 'pack'));
});
const peers = (JSON.parse(readFileSync(path.join(__dirname, '../../package.json'), 'utf8')) as { peerDependencies: Record<string, string> }).peerDependencies;

const project = {
  'project.json': JSON.stringify({ name: 'app' }),
  'hello.sh': '#!/bin/sh\necho "hello from $(echo app | tr a-z A-Z)"\n',
  'sidebundle.json': JSON.stringify({ name: 'app', entries: ['/usr/bin/jq', { host: './hello.sh', trace: './hello.sh' }] }),
};

/** package.json of every @nx/devkit in the workspace's node_modules, nested copies included. */
function devkitCopies(ws: string): Array<{ at: string; version: string }> {
  const found = execFileSync('find', ['node_modules', '-path', '*@nx/devkit/package.json'], { cwd: ws, encoding: 'utf8' }).split('\n').filter(Boolean);
  return found.map((at) => ({ at, version: (JSON.parse(readFileSync(path.join(ws, at), 'utf8')) as { version: string }).version }));
}

const installedVersion = (ws: string, pkg: string) => (JSON.parse(readFileSync(path.join(ws, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version;

describe.each([
  // What create-nx-workspace gives: nx and plugins (@nx/js, …) that bring @nx/devkit of the same version.
  ['Nx 23 with its @nx/devkit', 23, { '@nx/devkit': '^23.0.0' }],
  // A workspace that names only nx: npm installs sidebundle's peer @nx/devkit itself.
  ['Nx 23 alone', 23, {}],
  ['Nx 24 with its @nx/devkit', 24, { '@nx/devkit': '^24.0.0' }],
] as const)('%s', (_label, major, devDependencies) => {
  const ws = path.join(base, `nx${major}-${Object.keys(devDependencies).length}`);

  beforeAll(() => {
    createWorkspace(ws, { tarball, nxVersion: `^${major}.0.0`, devDependencies, projects: { 'apps/app': project } });
  });

  test('the workspace holds one @nx/devkit, which the peer range admits, and the nx it asked for', () => {
    expect(peers['@nx/devkit']).toBe('>=23 <25');
    expect(installedVersion(ws, 'nx').split('.')[0]).toBe(String(major));
    const copies = devkitCopies(ws);
    expect(copies).toEqual([{ at: 'node_modules/@nx/devkit/package.json', version: expect.stringMatching(/^2[34]\./) }]);
    if ('@nx/devkit' in devDependencies) expect(copies[0]!.version.split('.')[0]).toBe(String(major));
    expect(installedVersion(ws, 'sidebundle')).toBe((JSON.parse(readFileSync(path.join(__dirname, '../../package.json'), 'utf8')) as { version: string }).version);
  });

  test('nx run app:bundle builds a bundle that runs in the bare root', async () => {
    // A cache of its own: the three workspaces must not replay each other's steps.
    const run = await nx(ws, ['run', 'app:bundle'], { NX_CACHE_DIRECTORY: path.join(ws, '.nx/e2e-cache') });
    if (run.status !== 0) console.log(run.output);
    expect(run.status).toBe(0);
    for (const step of ['resolve', 'trace', 'merge', 'package']) expect(run.tasks[`app:${step}`]).toBe('run');
    const binds = { [path.join(ws, 'dist/bundles/app')]: '/tmp/b' };
    expect(runInRoot(bareRootfs(), ['/tmp/b/bin/hello.sh'], { binds }).stdout).toBe('hello from APP\n');
    expect(runInRoot(bareRootfs(), ['/tmp/b/bin/jq', '-n', '[1,2]|add'], { binds }).stdout).toBe('3\n');
  });
});
