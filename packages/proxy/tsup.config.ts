import { defineConfig } from 'tsup';

// The bin bundles this repository's packages (resolved from their TypeScript sources through
// the root tsconfig paths) so it runs from a fresh clone without building every package first;
// third-party dependencies stay external.
export default defineConfig({
  entry: ['src/index.ts', 'src/bin/l7mp-proxy.ts'],
  format: ['esm', 'cjs'],
  // L7MP_BIN_ONLY skips the (slow) declaration build when only the bin is needed, e.g. in tests.
  dts: process.env.L7MP_BIN_ONLY ? false : { entry: 'src/index.ts' },
  sourcemap: true,
  clean: true,
  target: 'node20',
  tsconfig: '../../tsconfig.json',
  noExternal: [/^@l7mp\//],
});
