// What of an npm package is shipped: run-time files yes; tests, docs, declarations, maps, an
// addon's sources and build tree, other platforms' prebuilds no.
import { isOurPlatform, prunedAs } from '../../../lib/collect/node-package';

const plain = { addon: false, whole: false };
const addon = { addon: true, whole: false };

test.each([
  ['index.js', undefined],
  ['package.json', undefined],
  ['LICENSE', undefined],
  ['LICENSE.md', undefined],
  ['lib/deep/thing.mjs', undefined],
  ['README.md', 'dev'],
  ['docs/api.html', 'dev'],
  ['lib/test/fixture.js', 'dev'],
  ['__tests__/a.js', 'dev'],
  ['.github/workflows/ci.yml', 'dev'],
  ['index.d.ts', 'dev'],
  ['dist/index.js.map', 'dev'],
  ['prebuilds/darwin-arm64/x.node', 'prebuild'],
  ['prebuilds/linux-x64/x.node', undefined],
  ['prebuilds/linux-x64/x.musl.node', undefined],
])('%s in a plain package: %s', (rel, verdict) => {
  expect(prunedAs(rel, plain)).toBe(verdict);
});

test.each([
  ['build/Release/addon.node', undefined],
  ['build/Release/obj.target/addon.node', 'build'],
  ['build/Release/.deps/x.o.d', 'build'],
  ['build/Makefile', 'build'],
  ['deps/sqlite3/sqlite3.c', 'build'],
  ['src/addon.cpp', 'build'],
  ['binding.gyp', 'build'],
  ['lib/index.js', undefined],
])('%s in an addon package: %s', (rel, verdict) => {
  expect(prunedAs(rel, addon)).toBe(verdict);
});

test('--collect full keeps docs, tests and maps, never other platforms\' prebuilds', () => {
  const whole = { addon: false, whole: true };
  expect(prunedAs('README.md', whole)).toBeUndefined();
  expect(prunedAs('index.js.map', whole)).toBeUndefined();
  expect(prunedAs('prebuilds/win32-x64/x.node', whole)).toBe('prebuild');
});

test.each([['linux-x64', true], ['linux-x64+arm64', true], ['linux-arm64', false], ['darwin-x64+arm64', false], ['win32-x64', false], ['linux', false]])('prebuilds/%s is ours: %s', (dir, ours) => {
  expect(isOurPlatform(dir)).toBe(ours);
});
