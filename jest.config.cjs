// One jest "project" per package, so `npm test` at the root runs every package's suite
// against its TypeScript sources (no build step needed).
const fs = require('node:fs');
const path = require('node:path');

const packagesDir = path.join(__dirname, 'packages');
const projects = fs
  .readdirSync(packagesDir)
  .filter((dir) => fs.existsSync(path.join(packagesDir, dir, 'test')))
  .map((dir) => ({
    displayName: dir,
    rootDir: path.join(packagesDir, dir),
    testEnvironment: 'node',
    testMatch: ['<rootDir>/test/**/*.test.ts'],
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
    },
  }));

module.exports = {
  projects,
  testTimeout: 20000,
};
