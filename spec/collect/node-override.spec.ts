// --node PATH (config "node"): a Node entry runs with the node named there, not the one `env node`
// finds on PATH. The second node is /usr/bin/node copied elsewhere: the same program at another
// path, which is enough to tell which one was bundled (manifest.lock, the launcher's program, and
// process.execPath in the bundle). Bad values fail before anything runs, with exit status 2.
import { copyFileSync, linkSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

import type { ExecutorContext } from '@nx/devkit';

import { normalizeOptions } from '../../executors/shared/options';
import { readConfigFile } from '../../lib/config/config';
import { buildClosure } from '../../lib/resolve/closure';
import { bareRootfs } from '../fixtures/rootfs';
import { runInRoot } from '../fixtures/run-in-root';
import { createBundle, runCli } from '../helpers/cli';
import { tempDir } from '../helpers/tmp';

jest.setTimeout(600_000);

const HOST_NODE = '/usr/bin/node';
const MOUNT = '/tmp/b';

const work = tempDir('sb-node-override-');
const altNode = path.join(work, 'node-alt/bin/node');
mkdirSync(path.dirname(altNode), { recursive: true });
copyFileSync(HOST_NODE, altNode);
const app = path.join(work, 'app');
mkdirSync(app);
const script = path.join(app, 'version.js');
writeFileSync(script, '#!/usr/bin/env node\nconsole.log(process.version, process.execPath);\n', { mode: 0o755 });
const direct = path.join(app, 'direct.js');
writeFileSync(direct, `#!${HOST_NODE}\nconsole.log(1);\n`, { mode: 0o755 });
const shell = path.join(app, 'hello.sh');
writeFileSync(shell, '#!/bin/sh\necho hi\n', { mode: 0o755 });
const textFile = path.join(work, 'not-node.txt');
writeFileSync(textFile, 'node, honest\n');

interface Manifest {
  entries: Array<{ name: string; program: string; logicalProgram: string; runMode: string }>;
  files: Array<{ path: string }>;
}
const manifestOf = (dir: string): Manifest => JSON.parse(readFileSync(path.join(dir, 'manifest.lock'), 'utf8'));

describe('the closure builder', () => {
  const interpreterOf = (file: string, node?: string) =>
    buildClosure({ entries: [{ path: file }], ...(node ? { interpreters: { node } } : {}) }).entries[0]!.script?.interpreter;

  test('without an override, `env node` is the node on PATH (the precondition: it is not the copy)', () => {
    expect(interpreterOf(script)).toBe(HOST_NODE);
  });

  test('the override replaces node found through env and node named directly, not other interpreters', () => {
    expect(interpreterOf(script, altNode)).toBe(altNode);
    expect(interpreterOf(direct, altNode)).toBe(altNode);
    expect(interpreterOf(shell, altNode)).toMatch(/\/(dash|bash|sh|busybox)$/);
  });

  test('with the override, `env node` needs no node on PATH', () => {
    const closure = buildClosure({ entries: [{ path: script }], interpreters: { node: altNode }, searchPath: [path.join(work, 'no-such-dir')] });
    expect(closure.entries[0]!.script?.interpreter).toBe(altNode);
  });

  test('a missing path or a file that is not an ELF program fails with its own code', () => {
    expect(() => interpreterOf(script, path.join(work, 'nope/node'))).toThrow(expect.objectContaining({ code: 'NODE_NOT_FOUND', kind: 'input' }));
    expect(() => interpreterOf(script, textFile)).toThrow(expect.objectContaining({ code: 'NODE_NOT_A_PROGRAM', kind: 'input' }));
  });
});

describe('sidebundle create --node', () => {
  let bundleDir: string;
  beforeAll(() => {
    bundleDir = createBundle(['--name', 'version', '--out-dir', path.join(work, 'out'), '--no-cache', '--from-host', script, '--node', altNode]).dir;
  });

  test('manifest.lock names the override as the entry\'s program and ships it at its own path, not /usr/bin/node', () => {
    const manifest = manifestOf(bundleDir);
    const entry = manifest.entries.find((e) => e.name === 'version.js')!;
    expect(entry.logicalProgram).toBe(altNode);
    expect(entry.program).toBe(`payload${altNode}`);
    expect(manifest.files.map((f) => f.path)).toContain(`payload${altNode}`);
    expect(manifest.files.map((f) => f.path)).not.toContain(`payload${HOST_NODE}`);
    const launcher = JSON.parse(readFileSync(path.join(bundleDir, 'runtime/entries/version.js.json'), 'utf8'));
    expect(JSON.stringify(launcher)).toContain(`payload${altNode}`);
  });

  // A node under /tmp (or a home: ~/.nvm) cannot be shown at its path in the root modes, so auto
  // runs the entry in host mode, where the loader runs node (process.execPath names the loader).
  test('the bundle runs in the bare root (no node there) and prints the version', () => {
    expect(manifestOf(bundleDir).entries.map((e) => e.runMode)).toEqual(['host']);
    const r = runInRoot(bareRootfs(), [`${MOUNT}/bin/version.js`], { binds: { [bundleDir]: MOUNT } });
    expect({ stderr: r.stderr, status: r.status }).toEqual({ stderr: '', status: 0 });
    expect(r.stdout).toMatch(new RegExp(`^${process.version.replace(/\./g, '\\.')} /`));
  });

  test.each([
    ['a missing path', () => path.join(work, 'missing/node'), 'NODE_NOT_FOUND'],
    ['a text file', () => textFile, 'NODE_NOT_A_PROGRAM'],
  ])('%s exits 2 with its error code', (_what, node, code) => {
    const r = runCli(['create', '--name', 'bad', '--out-dir', path.join(work, 'out-bad'), '--no-cache', '--from-host', script, '--node', node()]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`error[${code}]`);
  });
});

describe('"node" in sidebundle.json', () => {
  const project = path.join(work, 'proj');
  const configFile = path.join(project, 'sidebundle.json');
  mkdirSync(path.join(project, 'tools'), { recursive: true });
  // A second name for the copy: the config's node is at a path of its own.
  linkSync(altNode, path.join(project, 'tools/node'));
  writeFileSync(configFile, JSON.stringify({ name: 'version', entries: [script], node: './tools/node' }));
  const context = { root: work, cwd: work, isVerbose: false, projectName: 'proj', projectsConfigurations: { version: 2, projects: { proj: { root: 'proj' } } } } as unknown as ExecutorContext;

  test('is read and checked (a string)', () => {
    expect(readConfigFile(configFile).node).toBe('./tools/node');
    const bad = path.join(project, 'bad.json');
    writeFileSync(bad, JSON.stringify({ name: 'version', entries: [script], node: 20 }));
    expect(() => readConfigFile(bad)).toThrow(expect.objectContaining({ kind: 'input' }));
  });

  test('is relative to the configuration file and reaches the engine for resolve and bundle', () => {
    for (const executor of ['resolve', 'bundle'] as const) {
      const o = normalizeOptions(executor, { config: 'proj/sidebundle.json' }, context);
      expect(o.engine.node).toBe(path.join(project, 'tools/node'));
    }
  });

  test('inline, it is relative to the project root', () => {
    const o = normalizeOptions('resolve', { name: 'version', entries: [script], node: 'tools/node' }, context);
    expect(o.engine.node).toBe(path.join(project, 'tools/node'));
  });
});
