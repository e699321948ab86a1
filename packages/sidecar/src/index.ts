export { sidecarRole } from './sidecar';
export { sidecarConfig, DEFAULT_API_PORT } from './config';
export {
  startApp,
  parseAppArgs,
  parsePort,
  announce,
  type AppOptions,
  type AppRole,
  type RunningApp,
} from './app';
export { runMain } from './main';
export { mergeConfigs } from './merge';
export { localModeTransports, mapSocketPath, type LocalMode } from './local-mode';
