// Two Jest projects, run in this order by `npm test`:
// - `unit`: every spec under spec/unit/, a tree that mirrors the source (spec/unit/lib/merge/… for
//   lib/merge/…, spec/unit/plugins/… and spec/unit/executors/… for the Nx edge). A unit spec
//   runs in-process in milliseconds: no root, no rootfs or image fixtures (no globalSetup), no
//   native shim, no network, no compiler; a temporary directory with a few files is fine.
// - `integration`: every other spec under spec/, with the fixtures spec/global-setup.ts builds.
// `npx jest --selectProjects unit` runs the fast one alone; put paths before the flag, which takes
// every word after it as a project name (`npx jest spec/unit/merge --selectProjects unit`).
//
// Jest runs the TypeScript sources through swc (no type check: `npm test` runs tsc first).
// execa is ESM-only; Jest's module loader cannot require() ESM on Node 20, so swc transforms it
// (and its ESM-only dependencies) to CommonJS as well.
const esmOnly = [
  'execa', '@sindresorhus', '@sec-ant', 'figures', 'get-stream',
  'human-signals', 'is-plain-obj', 'is-stream', 'npm-run-path', 'path-key', 'parse-ms', 'pretty-ms',
  'strip-final-newline', 'unicorn-magic', 'yoctocolors', 'is-unicode-supported',
];
const swc = ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'commonjs' } }];

const shared = {
  testEnvironment: 'node',
  rootDir: __dirname,
  transform: { '^.+\\.(t|j|mj)s$': swc },
  transformIgnorePatterns: [`/node_modules/(?!(${esmOnly.join('|')})/)`],
  moduleNameMapper: { '^unicorn-magic$': '<rootDir>/node_modules/unicorn-magic/node.js' },
};

/** @type {import('jest').Config} */
module.exports = {
  maxWorkers: 2,
  testTimeout: 120000, // global only: Jest ignores a project's own testTimeout
  projects: [
    {
      ...shared,
      displayName: 'unit',
      roots: ['<rootDir>/spec/unit'],
      testMatch: ['**/*.spec.ts'],
    },
    {
      ...shared,
      displayName: 'integration',
      roots: ['<rootDir>/spec'],
      testMatch: ['**/*.spec.ts'],
      testPathIgnorePatterns: ['/node_modules/', '<rootDir>/spec/unit/'],
      globalSetup: '<rootDir>/spec/global-setup.ts',
    },
  ],
};
