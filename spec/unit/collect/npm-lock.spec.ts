// The production closure from a package-lock "packages" map: what is followed, what is not.
import { lockSource, manifestSource, productionClosure, type LockPackage } from '../../../lib/collect/npm-lock';

const all = () => true;
const names = (packages: Array<{ location: string }>) => packages.map((p) => p.location);

test('dependencies and installed optionalDependencies, transitively; devDependencies never', () => {
  const source = lockSource({
    lockfileVersion: 3,
    packages: {
      '': { name: 'app', dependencies: { a: '^1' }, optionalDependencies: { fsevents: '^2', opt: '^1' }, devDependencies: { jest: '^29' } } as LockPackage,
      'node_modules/a': { version: '1.0.0', dependencies: { b: '^1' } },
      'node_modules/b': { version: '1.1.0' },
      'node_modules/opt': { version: '1.0.0', optional: true },
      'node_modules/fsevents': { version: '2.3.3', optional: true },
      'node_modules/jest': { version: '29.0.0', dev: true, dependencies: { b: '^1' } },
    },
  }, (location) => location !== 'node_modules/fsevents')!; // another platform's: in the lock, not on disk
  const closure = productionClosure(source);
  expect(names(closure.packages)).toEqual(['node_modules/a', 'node_modules/b', 'node_modules/opt']);
  expect(closure.packages.find((p) => p.location === 'node_modules/b')).toEqual({ location: 'node_modules/b', name: 'b', version: '1.1.0' });
  expect(closure.unresolved).toEqual([]);
});

test('a nested copy wins over the hoisted one, like Node\'s lookup', () => {
  const source = lockSource({
    packages: {
      '': { dependencies: { a: '1', b: '2' } },
      'node_modules/a': { version: '1.0.0', dependencies: { b: '1' } },
      'node_modules/a/node_modules/b': { version: '1.0.0' },
      'node_modules/b': { version: '2.0.0' },
    },
  }, all)!;
  expect(productionClosure(source).packages.map((p) => `${p.location}@${p.version}`)).toEqual(['node_modules/a@1.0.0', 'node_modules/a/node_modules/b@1.0.0', 'node_modules/b@2.0.0']);
});

test('a workspace link is followed to its target; a dev-flagged package reached anyway is left out and said', () => {
  const source = lockSource({
    packages: {
      '': { dependencies: { greet: '*', oops: '*' } },
      'node_modules/greet': { resolved: 'packages/greet', link: true },
      'packages/greet': { name: 'greet', version: '1.0.0', dependencies: { ms: '2' } },
      'node_modules/ms': { version: '2.1.3' },
      'node_modules/oops': { version: '1.0.0', dev: true },
    },
  }, all)!;
  const closure = productionClosure(source);
  expect(closure.packages).toEqual([
    { location: 'node_modules/ms', name: 'ms', version: '2.1.3' },
    { location: 'packages/greet', name: 'greet', version: '1.0.0', linkedFrom: 'node_modules/greet' },
  ]);
  expect(closure.devSkipped).toEqual(['node_modules/oops']);
});

test('a link to a package beside the lock\'s root (file:../shared) is followed there, its own dependencies too', () => {
  const source = lockSource({
    packages: {
      '': { dependencies: { shared: 'file:../shared' } },
      'node_modules/shared': { resolved: '../shared', link: true },
      '../shared': { name: 'shared', version: '0.1.0', dependencies: { ms: '2' } },
      'node_modules/ms': { version: '2.1.3' },
    },
  }, all)!;
  expect(productionClosure(source).packages).toEqual([
    { location: '../shared', name: 'shared', version: '0.1.0', linkedFrom: 'node_modules/shared' },
    { location: 'node_modules/ms', name: 'ms', version: '2.1.3' },
  ]);
});

test('a required package that is not installed is named; required peers are followed', () => {
  const source = lockSource({
    packages: {
      '': { dependencies: { plugin: '1', gone: '1' } },
      'node_modules/plugin': { version: '1.0.0', peerDependencies: { host: '1', maybe: '1' }, peerDependenciesMeta: { maybe: { optional: true } } },
      'node_modules/host': { version: '1.0.0' },
    },
  }, all)!;
  const closure = productionClosure(source);
  expect(names(closure.packages)).toEqual(['node_modules/host', 'node_modules/plugin']);
  expect(closure.unresolved).toEqual([{ name: 'gone', from: '(root)' }]);
});

test('without a lock, node_modules/*/package.json give the same walk', () => {
  const manifests: Record<string, LockPackage> = {
    '': { dependencies: { a: '1' }, devDependencies: { d: '1' } } as LockPackage,
    'node_modules/a': { name: 'a', version: '1.0.0' },
    'node_modules/d': { name: 'd', version: '1.0.0' },
  };
  expect(names(productionClosure(manifestSource((l) => manifests[l])).packages)).toEqual(['node_modules/a']);
});

test('a lock without a packages map (lockfileVersion 1) is no source', () => {
  expect(lockSource({ lockfileVersion: 1 }, all)).toBeUndefined();
});
