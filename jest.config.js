// Jest runs the TypeScript sources through swc (no type check: `npm test` runs tsc first).
// execa is ESM-only; Jest's module loader cannot require() ESM on Node 20, so swc transforms it
// (and its ESM-only dependencies) to CommonJS as well.
const esmOnly = [
  'execa', '@sindresorhus', '@sec-ant', 'figures', 'get-stream',
  'human-signals', 'is-plain-obj', 'is-stream', 'npm-run-path', 'path-key', 'parse-ms', 'pretty-ms',
  'strip-final-newline', 'unicorn-magic', 'yoctocolors', 'is-unicode-supported',
];
const swc = ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'commonjs' } }];

/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/spec'],
  testMatch: ['**/*.spec.ts'],
  transform: { '^.+\\.(t|j|mj)s$': swc },
  transformIgnorePatterns: [`/node_modules/(?!(${esmOnly.join('|')})/)`],
  moduleNameMapper: { '^unicorn-magic$': '<rootDir>/node_modules/unicorn-magic/node.js' },
  globalSetup: '<rootDir>/spec/global-setup.ts',
  testTimeout: 120000,
  maxWorkers: 2,
};
