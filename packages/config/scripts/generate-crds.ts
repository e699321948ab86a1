// Regenerates packages/config/crds/*.yaml from the zod schemas:
//   node --import tsx packages/config/scripts/generate-crds.ts [output-dir]
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeCrdManifests } from '../src/crd/manifests';

const defaultDir = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'crds');
const outputDir = resolve(process.argv[2] ?? defaultDir);

writeCrdManifests(outputDir).then(
  (paths) => {
    for (const path of paths) console.log(`wrote ${path}`);
  },
  (error: unknown) => {
    console.error(`generate-crds: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  },
);
