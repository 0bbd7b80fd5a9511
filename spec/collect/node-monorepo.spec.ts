// A Node app in an Nx monorepo: package-lock.json and node_modules at the workspace root, the
// app under apps/x (a package.json of its own the lock does not list) or built to dist/apps/y
// (no package.json: its imports say what it needs; a lock Nx wrote beside the output has no
// node_modules). The node family takes each app's closure from the root's lock, restricted to
// what the app needs, and ships the app's directory, not the workspace. Built on a tmp tree.
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

import type { CollectInput } from '../../lib/collect/family';
import { appDirOf, nodeFamily } from '../../lib/collect/node';
import { importedPackages, packageNameOf } from '../../lib/collect/node-imports';
import type { ResolvedEntry } from '../../lib/model/closure';
import { buildClosure } from '../../lib/resolve/closure';
import { RootFs } from '../../lib/resolve/rootfs';
import { tempDir } from '../helpers/tmp';

const ws = path.join(tempDir('sb-node-mono-'), 'ws');

function write(rel: string, content: string | object): void {
  const at = path.join(ws, rel);
  mkdirSync(path.dirname(at), { recursive: true });
  writeFileSync(at, typeof content === 'string' ? content : JSON.stringify(content));
}

function pkg(name: string, version: string, dependencies: Record<string, string> = {}): void {
  write(`node_modules/${name}/package.json`, { name, version, dependencies });
  write(`node_modules/${name}/index.js`, `module.exports = ${JSON.stringify(name)};\n`);
  write(`node_modules/${name}/README.md`, '# docs\n');
}

beforeAll(() => {
  write('nx.json', {});
  write('.git/HEAD', 'ref: refs/heads/main\n');
  // The root lists every project's packages; the lock flags what only its devDependencies reach.
  write('package.json', { name: 'ws', private: true, dependencies: { ms: '2.1.3', unused: '1.0.0' }, devDependencies: { nx: '24.0.0', kleur: '4.1.5' } });
  write('package-lock.json', {
    lockfileVersion: 3,
    packages: {
      '': { name: 'ws', dependencies: { ms: '2.1.3', unused: '1.0.0' }, devDependencies: { nx: '24.0.0', kleur: '4.1.5' } },
      'node_modules/ms': { version: '2.1.3' },
      'node_modules/unused': { version: '1.0.0' },
      'node_modules/nx': { version: '24.0.0', dev: true },
      'node_modules/kleur': { version: '4.1.5', dev: true, dependencies: { tiny: '1.0.0' } },
      'node_modules/tiny': { version: '1.0.0', dev: true },
    },
  });
  pkg('ms', '2.1.3');
  pkg('unused', '1.0.0');
  pkg('nx', '24.0.0');
  pkg('kleur', '4.1.5', { tiny: '1.0.0' });
  pkg('tiny', '1.0.0');
  // apps/x: an Nx project with its own package.json (not an npm workspace).
  write('apps/x/project.json', { name: 'x' });
  write('apps/x/package.json', { name: 'x', version: '0.1.0', dependencies: { kleur: '^4' }, devDependencies: { nx: '*' } });
  write('apps/x/src/main.js', "require('kleur');\n");
  // dist/apps/y: a build output with no package.json, and a lock Nx generated beside it.
  write('dist/apps/y/main.js', "const ms = require('ms');\nimport('kleur').then(() => {});\nrequire('node:path'); require('fs'); require('./chunk.js');\n");
  write('dist/apps/y/chunk.js', "export { x } from '@scope/absent/sub';\n");
  write('dist/apps/y/package-lock.json', { lockfileVersion: 3, packages: { '': { name: 'y' }, 'node_modules/ms': { version: '2.1.3' } } });
  // apps/z: a project with only a project.json; its source imports ms.
  write('apps/z/project.json', { name: 'z' });
  write('apps/z/src/main.js', "import ms from 'ms';\n");
});

const fs = new RootFs('/');
const input = (target: string): CollectInput => ({
  fs,
  files: [],
  excluded: [],
  entries: [{ name: 'app', path: target, target, kind: 'script', script: { interpreter: '/usr/bin/node', interpreterPath: '/usr/bin/node', args: [] } } as ResolvedEntry],
  policy: 'smart',
  budgetBytes: 0,
  packages: { ownerOf: () => undefined, filesOf: () => [] },
});
const shipped = (target: string) => {
  const result = nodeFamily.detect(input(path.join(ws, target)));
  return { paths: result.additions.map((a) => path.relative(ws, a.path)).sort(), result };
};

test('the app of a file: its package.json, an Nx project.json, else its own directory below the workspace root', () => {
  expect(appDirOf({ fs }, path.join(ws, 'apps/x/src/main.js'))).toEqual({ dir: path.join(ws, 'apps/x'), manifest: true });
  expect(appDirOf({ fs }, path.join(ws, 'apps/z/src/main.js'))).toEqual({ dir: path.join(ws, 'apps/z'), manifest: false });
  expect(appDirOf({ fs }, path.join(ws, 'dist/apps/y/main.js'))).toEqual({ dir: path.join(ws, 'dist/apps/y'), manifest: false });
  // An entry at the workspace root belongs to the root package.
  expect(appDirOf({ fs }, path.join(ws, 'tool.js'))).toEqual({ dir: ws, manifest: true });
});

test('an app with its own package.json gets its dependencies from the root lock, dev flags of the root aside', () => {
  const { paths, result } = shipped('apps/x/src/main.js');
  expect(paths).toEqual([
    'apps/x/package.json', 'apps/x/project.json', 'apps/x/src/main.js',
    'node_modules/kleur/index.js', 'node_modules/kleur/package.json',
    'node_modules/tiny/index.js', 'node_modules/tiny/package.json',
  ]);
  expect(result.diagnostics.filter((d) => d.level === 'warning')).toEqual([]);
  expect(result.additions.find((a) => a.path.endsWith('kleur/index.js'))?.reason.what).toBe('node dependency kleur@4.1.5');
});

test('a build output without package.json gets what its files import, from the root lock (not the lock beside it)', () => {
  const { paths, result } = shipped('dist/apps/y/main.js');
  expect(paths).toEqual([
    'dist/apps/y/chunk.js', 'dist/apps/y/main.js', 'dist/apps/y/package-lock.json',
    'node_modules/kleur/index.js', 'node_modules/kleur/package.json',
    'node_modules/ms/index.js', 'node_modules/ms/package.json',
    'node_modules/tiny/index.js', 'node_modules/tiny/package.json',
  ]);
  expect(result.diagnostics.find((d) => d.code === 'COLLECT_NODE_IMPORTS')?.message).toMatch(/import: @scope\/absent, kleur, ms$/);
  // An import nothing installs is optional (a require() in a try block): no warning.
  expect(result.diagnostics.filter((d) => d.level === 'warning')).toEqual([]);
  expect(result.diagnostics.find((d) => d.code === 'COLLECT_NODE_PRUNED')?.message).toMatch(/3 production packages from .*\/ws\/package-lock\.json/);
});

test('a project with only project.json ships its directory and what it imports', () => {
  expect(shipped('apps/z/src/main.js').paths).toEqual(['apps/z/project.json', 'apps/z/src/main.js', 'node_modules/ms/index.js', 'node_modules/ms/package.json']);
});

test('imports: bare specifiers of require, import() and import/export from, as package names', () => {
  expect(importedPackages([
    "const a = require('a-pkg/lib/x.js');",
    'import b, { c } from "@s/b/deep";',
    "import {\n  d,\n} from 'd';",
    "import 'side-effect';",
    "export * from 'e';",
    "await import(`f`);",
    "require('./local'); require('/abs'); require('node:fs'); require('fs/promises'); require('#internal'); require(`g${x}`);",
  ].join('\n'))).toEqual(['@s/b', 'a-pkg', 'd', 'e', 'f', 'side-effect']);
  expect(packageNameOf('@scope')).toBeUndefined();
  expect(packageNameOf('child_process')).toBeUndefined();
  expect(packageNameOf('file:x')).toBeUndefined();
});

test('a .js file without #! (a build output) is an entry run by the node env finds; another file without #! is not', () => {
  const draft = buildClosure({ entries: [{ path: path.join(ws, 'dist/apps/y/main.js') }] });
  expect(draft.entries[0]).toMatchObject({ kind: 'script', script: { interpreterPath: expect.stringMatching(/\/node$/), args: [] } });
  expect(() => buildClosure({ entries: [{ path: path.join(ws, 'apps/x/project.json') }] })).toThrow(/neither an ELF program nor a script with #!/);
});
