import { defineConfig } from 'tsup';

// Like l7mp-proxy's: the bin bundles this repository's code (the proxy app and the @l7mp/*
// packages, from their TypeScript sources via the root tsconfig paths) so it runs from a fresh
// clone; third-party dependencies stay external and come with `l7mp-proxy`.
export default defineConfig({
  entry: ['src/index.ts', 'src/bin/l7mp-sidecar.ts'],
  format: ['esm', 'cjs'],
  // L7MP_BIN_ONLY skips the (slow) declaration build when only the bin is needed, e.g. in tests.
  dts: process.env.L7MP_BIN_ONLY ? false : { entry: 'src/index.ts' },
  sourcemap: true,
  clean: true,
  target: 'node20',
  tsconfig: '../../tsconfig.json',
  noExternal: [/^@l7mp\//, 'l7mp-proxy'],
  // Every other bare import is a third-party package (pino, ws, node-unix-socket with its native
  // binary...) that `l7mp-proxy` brings along; the proxy app (`l7mp-proxy`) is bundled too.
  external: [/^(?!@l7mp\/|l7mp-proxy$)[^./]/],
});
