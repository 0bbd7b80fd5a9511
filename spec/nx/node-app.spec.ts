// A Node app of an Nx monorepo, end to end in a real workspace (nx and sidebundle from npm pack):
// package-lock.json and node_modules at the workspace root; apps/app built by its own build
// target into dist/apps/app/main.js (no #! line, no package.json: its imports say what it needs);
// runtime dependencies ms (CommonJS) and kleur (dual) packed from the node-app fixture, an
// ESM-only package and an N-API addon compiled with gcc here, both local tarballs, and an ESM
// workspace package. `nx g sidebundle:configuration`, `nx run app:bundle` (and the CLI), the bundle
// run in the bare root (no node there) printing what `node dist/apps/app/main.js` prints; then the ESM-only
// package upgraded in the lockfile (installed offline from a new tarball) gives a fresh bundle.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

import { nodeAppFixture } from '../fixtures/node-app';
import { bareRootfs } from '../fixtures/rootfs';
import { runInRoot, runOnHost } from '../fixtures/run-in-root';
import { compile } from '../helpers/cc';
import { tempDir } from '../helpers/tmp';
import { createWorkspace, nx, packRepository } from './workspace';

jest.setTimeout(600_000);

const base = tempDir('sb-nx-node-');
const ws = path.join(base, 'workspace');
const tarballs = path.join(base, 'tarballs');
const MOUNT = '/tmp/b';
const bundle = path.join(ws, 'dist/bundles/app');

const MAIN = `const ms = require('ms');
const kleur = require('kleur');
const addon = require('hello-addon');
kleur.enabled = true;
Promise.all([import('shout'), import('greet')]).then(([{ shout }, { greet }]) => {
  console.log([ms(90000), JSON.stringify(kleur.green('ok')), addon.hello(), shout(greet('nx'))].join(' '));
});
`;
// The app's "build": what a bundler writes, a .js file without #! under dist/apps/app.
const BUILD = `const fs = require('node:fs');
fs.mkdirSync('dist/apps/app', { recursive: true });
fs.writeFileSync('dist/apps/app/main.js', '// built by app:build\\n' + fs.readFileSync('apps/app/src/main.js', 'utf8'));
`;
const ADDON = `#include <node_api.h>
static napi_value hello(napi_env env, napi_callback_info info) {
  napi_value s;
  napi_create_string_utf8(env, "addon-ok", NAPI_AUTO_LENGTH, &s);
  return s;
}
NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "hello", NAPI_AUTO_LENGTH, hello, NULL, &fn);
  napi_set_named_property(env, exports, "hello", fn);
  return exports;
}
`;

/** `npm pack` of a package directory into the tarball directory; its file name. */
function pack(dir: string): string {
  const out = execFileSync('npm', ['pack', '--ignore-scripts', '--pack-destination', tarballs, dir], { encoding: 'utf8' }).trim().split('\n');
  return path.join(tarballs, out[out.length - 1]!);
}

/** The ESM-only package `shout` at `version`, packed. */
function shoutTarball(version: string, suffix: string): string {
  const dir = path.join(base, `shout-${version}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'shout', version, type: 'module', exports: './index.js' }));
  writeFileSync(path.join(dir, 'index.js'), `export const shout = (s) => s.toUpperCase() + ${JSON.stringify(suffix)};\n`);
  return pack(dir);
}

function addonTarball(): string {
  const dir = path.join(base, 'hello-addon');
  compile(path.join(dir, 'hello.node'), ADDON, ['-shared', '-fPIC', '-I/usr/include/node']);
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'hello-addon', version: '1.0.0', main: 'index.js', files: ['index.js', 'hello.node'] }));
  writeFileSync(path.join(dir, 'index.js'), "module.exports = require('./hello.node');\n");
  return pack(dir);
}

function setDependencies(dependencies: Record<string, string>): void {
  const file = path.join(ws, 'package.json');
  const manifest = JSON.parse(readFileSync(file, 'utf8'));
  writeFileSync(file, JSON.stringify({ ...manifest, workspaces: ['libs/*'], dependencies }, null, 2));
  // Offline: every dependency is a local tarball or a workspace package, nx is installed already.
  execFileSync('npm', ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts'], { cwd: ws, stdio: 'pipe' });
}

const nodeModules = path.join(nodeAppFixture().dir, 'node_modules');
let dependencies: Record<string, string>;

beforeAll(async () => {
  mkdirSync(tarballs, { recursive: true });
  dependencies = {
    ms: `file:${pack(path.join(nodeModules, 'ms'))}`,
    kleur: `file:${pack(path.join(nodeModules, 'kleur'))}`,
    'hello-addon': `file:${addonTarball()}`,
    shout: `file:${shoutTarball('1.0.0', '!')}`,
    greet: '*',
  };
  createWorkspace(ws, {
    tarball: packRepository(path.join(base, 'pack')),
    projects: {
      'libs/greet': {
        'package.json': JSON.stringify({ name: 'greet', version: '1.0.0', type: 'module', exports: './index.js' }),
        'index.js': 'export const greet = (name) => `hello ${name}`;\n',
      },
      'apps/app': {
        'project.json': JSON.stringify({
          name: 'app',
          targets: { build: { executor: 'nx:run-commands', options: { command: 'node apps/app/build.js' }, inputs: ['{projectRoot}/**/*'], outputs: ['{workspaceRoot}/dist/apps/app'], cache: true } },
        }),
        'build.js': BUILD,
        'src/main.js': MAIN,
      },
    },
  });
  setDependencies(dependencies);
  const generated = await nx(ws, ['g', 'sidebundle:configuration', 'app', '--entries=../../dist/apps/app/main.js', '--no-interactive']);
  expect(generated.status).toBe(0);
});

const native = () => {
  const r = runOnHost(['node', 'dist/apps/app/main.js'], { cwd: ws });
  expect({ stderr: r.stderr, status: r.status }).toEqual({ stderr: '', status: 0 });
  return r.stdout;
};
const bundled = (mode: string) => runInRoot(bareRootfs(), [`${MOUNT}/bin/main.js`], { binds: { [bundle]: MOUNT }, env: { SIDEBUNDLE_RUN_MODE: mode } });

test('the workspace is what it claims: the app is no npm workspace, its packages sit in the root lock', () => {
  const lock = JSON.parse(readFileSync(path.join(ws, 'package-lock.json'), 'utf8'));
  expect(lock.packages['node_modules/shout']).toMatchObject({ version: '1.0.0' });
  expect(lock.packages['node_modules/greet']).toMatchObject({ link: true, resolved: 'libs/greet' });
  expect(lock.packages['apps/app']).toBeUndefined();
  expect(JSON.parse(readFileSync(path.join(ws, 'apps/app/sidebundle.json'), 'utf8')).entries).toEqual(['../../dist/apps/app/main.js']);
});

test('nx run app:bundle builds the app first and its bundle prints in the bare root what node prints', async () => {
  const run = await nx(ws, ['run', 'app:bundle']);
  expect(run.status).toBe(0);
  for (const task of ['app:build', 'app:resolve', 'app:trace', 'app:merge', 'app:package']) expect(run.tasks[task]).toBe('run');
  const expected = native();
  expect(expected).toBe('2m "\\u001b[32mok\\u001b[39m" addon-ok HELLO NX!\n');
  expect(runInRoot(bareRootfs(), ['/bin/sh', '-c', 'command -v node || echo none']).stdout).toBe('none\n'); // the precondition
  for (const mode of ['host', 'ns']) {
    const r = bundled(mode);
    expect({ mode, stdout: r.stdout, stderr: r.stderr, status: r.status }).toEqual({ mode, stdout: expected, stderr: '', status: 0 });
  }
  const manifest: { files: Array<{ path: string }> } = JSON.parse(readFileSync(path.join(bundle, 'manifest.lock'), 'utf8'));
  const shipped = manifest.files.map((f) => f.path);
  expect(shipped.filter((p) => p.endsWith('/node_modules/hello-addon/hello.node'))).toHaveLength(1);
  // The app's closure, not the workspace's: nx and sidebundle (root devDependencies) stay out.
  expect(shipped.filter((p) => /\/node_modules\/(nx|sidebundle)\//.test(p))).toEqual([]);
  expect(shipped.filter((p) => p.includes('/apps/app/src/'))).toEqual([]);
});

test('the same app bundled through the CLI runs the same in the bare root', () => {
  const out = path.join(base, 'cli-out');
  execFileSync(process.execPath, [path.join(ws, 'node_modules/sidebundle/dist/lib/cli/main.js'), 'create', '--name', 'app', '--out-dir', out, '--from-host', 'dist/apps/app/main.js'], { cwd: ws, stdio: 'pipe' });
  const r = runInRoot(bareRootfs(), [`${MOUNT}/bin/main.js`], { binds: { [path.join(out, 'app')]: MOUNT }, env: { SIDEBUNDLE_RUN_MODE: 'host' } });
  expect({ stdout: r.stdout, stderr: r.stderr, status: r.status }).toEqual({ stdout: native(), stderr: '', status: 0 });
});

test('unchanged, the next runs are cache hits', async () => {
  // The first trace wrote sidebundle.lock (what collection read outside the workspace): one
  // run to settle it, as in e2e.spec.ts.
  expect((await nx(ws, ['run', 'app:bundle'])).status).toBe(0);
  const run = await nx(ws, ['run', 'app:bundle']);
  expect(run.status).toBe(0);
  for (const task of ['app:build', 'app:resolve', 'app:trace', 'app:merge', 'app:package', 'app:bundle']) expect(run.tasks[task]).toBe('cache');
});

test('a dependency upgraded in the lockfile gives a fresh bundle, not a stale cache hit', async () => {
  setDependencies({ ...dependencies, shout: `file:${shoutTarball('2.0.0', '!! (shout 2)')}` });
  expect(JSON.parse(readFileSync(path.join(ws, 'package-lock.json'), 'utf8')).packages['node_modules/shout'].version).toBe('2.0.0');
  const expected = native();
  expect(expected).toBe('2m "\\u001b[32mok\\u001b[39m" addon-ok HELLO NX!! (shout 2)\n');
  const run = await nx(ws, ['run', 'app:bundle']);
  expect(run.status).toBe(0);
  // Nx reruns build and resolve itself (app imports shout: its version is in their hash), but
  // their outputs are the same; trace, where collection reads node_modules, must not hit.
  expect(run.tasks['app:trace']).toBe('run');
  expect(run.tasks['app:package']).toBe('run');
  const r = bundled('host');
  expect({ stdout: r.stdout, stderr: r.stderr, status: r.status }).toEqual({ stdout: expected, stderr: '', status: 0 });
});

test('a workspace package edited gives a fresh bundle too (the npm workspaces are inputs of trace)', async () => {
  writeFileSync(path.join(ws, 'libs/greet/index.js'), 'export const greet = (name) => `hi ${name}`;\n');
  const expected = native();
  expect(expected).toBe('2m "\\u001b[32mok\\u001b[39m" addon-ok HI NX!! (shout 2)\n');
  const run = await nx(ws, ['run', 'app:bundle']);
  expect(run.status).toBe(0);
  expect(run.tasks['app:trace']).toBe('run');
  const r = bundled('host');
  expect({ stdout: r.stdout, stderr: r.stderr, status: r.status }).toEqual({ stdout: expected, stderr: '', status: 0 });
});
