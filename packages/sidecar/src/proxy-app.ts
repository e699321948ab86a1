// The l7mp-proxy app, reached by a relative path: the workspace package `l7mp-proxy` exposes only
// its built dist (no declarations), and the root tsconfig/jest map only `@l7mp/*` to sources.
// The bins bundle it, so what users run does not depend on this path.
export {
  startProxy,
  defaultConfig,
  loadConfig,
  type CliIo,
  type RunningProxy,
  type StartOptions,
} from 'l7mp-proxy';

import type { StartOptions } from 'l7mp-proxy';

/** A protocol plug-in as the proxy app takes it (derived, so no extra dependency is needed). */
export type TransportPlugin = NonNullable<StartOptions['transports']>[number];
export { ALL_TRANSPORTS } from 'l7mp-proxy';
