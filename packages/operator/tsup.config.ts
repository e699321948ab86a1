import { defineConfig, type Options } from 'tsup';

type EsbuildPlugin = NonNullable<Options['esbuildPlugins']>[number];

// ws (pulled in by client-node) tries the optional native addons bufferutil and utf-8-validate in a
// try/catch and falls back to JavaScript. They are not installed, so the bundle gets a module that
// throws on load instead of a require() of a package the image does not have.
const optionalAddonStubs: EsbuildPlugin = {
  name: 'optional-addon-stubs',
  setup(build) {
    build.onResolve({ filter: /^(bufferutil|utf-8-validate)$/ }, (args) => ({
      path: args.path,
      namespace: 'optional-addon-stub',
    }));
    build.onLoad({ filter: /.*/, namespace: 'optional-addon-stub' }, (args) => ({
      contents: `throw new Error(${JSON.stringify(`${args.path} is not part of the l7mp-operator bundle`)});`,
      loader: 'js',
    }));
  },
};

// The library build: this repository's packages are bundled in (they resolve to their TypeScript
// sources through the root tsconfig paths), third-party dependencies stay external.
const library: Options = {
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  dts: { entry: 'src/index.ts' },
  sourcemap: true,
  clean: false,
  target: 'node20',
  tsconfig: '../../tsconfig.json',
  noExternal: [/^@l7mp\//],
};

// The bundled operator: one CommonJS file with every dependency inlined (client-node is ESM-only;
// esbuild converts it), so the image ships that file and nothing else.
const bundle: Options = {
  entry: { 'l7mp-operator': 'src/bin/l7mp-operator.ts' },
  format: ['cjs'],
  outExtension: () => ({ js: '.cjs' }),
  platform: 'node',
  target: 'node20',
  tsconfig: '../../tsconfig.json',
  noExternal: [/.*/],
  dts: false,
  sourcemap: false,
  clean: false,
  splitting: false,
  minify: false,
  esbuildPlugins: [optionalAddonStubs],
};

// L7MP_BIN_ONLY builds just the bundle (tests; the image build), skipping the slow declarations.
export default defineConfig(process.env.L7MP_BIN_ONLY ? [bundle] : [library, bundle]);
