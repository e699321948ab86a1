// One jest "project" per package, so `npm test` at the root runs every package's suite
// against its TypeScript sources (no build step needed).
const fs = require('node:fs');
const path = require('node:path');

const packagesDir = path.join(__dirname, 'packages');
const project = (displayName, rootDir, testMatch) => ({
  displayName,
  rootDir,
  testEnvironment: 'node',
  testMatch,
  transform: {
    '^.+\\.(t|j|mj)s$': [
      '@swc/jest',
      { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } },
    ],
  },
  // ESM-only dependencies (e.g. @kubernetes/client-node) are transformed to CJS as well.
  transformIgnorePatterns: ['/node_modules/(?!(@kubernetes/client-node|openid-client|oauth4webapi|jose)/)'],
  moduleNameMapper: {
    '^@l7mp/([^/]+)$': path.join(packagesDir, '$1', 'src', 'index.ts'),
    '^@l7mp/([^/]+)/testing$': path.join(packagesDir, '$1', 'src', 'testing', 'index.ts'),
    '^l7mp-proxy$': path.join(packagesDir, 'proxy', 'src', 'index.ts'),
  },
});

const projects = [
  ...fs
    .readdirSync(packagesDir)
    .filter((dir) => fs.existsSync(path.join(packagesDir, dir, 'test')))
    .map((dir) => project(dir, path.join(packagesDir, dir), ['<rootDir>/test/**/*.test.ts'])),
  // The examples' own tests (e.g. examples/custom-app) run with the packages' suites.
  project('examples', path.join(__dirname, 'examples'), ['<rootDir>/**/*.test.ts']),
];

module.exports = {
  projects,
  testTimeout: 20000,
};
