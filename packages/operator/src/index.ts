export { parseArgs, OPERATOR_VERSION, DEFAULTS, ENV_VARS, type OperatorOptions, type CliIo } from './cli';
export { startFromArgs } from './main';
export { startOperator, createLogger, type RunningOperator, type StartDependencies } from './run';
export {
  OperatorMetrics,
  startMetricsServer,
  MetricsServerError,
  type MetricsServer,
  type HealthChecks,
  type ReconcileOutcome,
} from './metrics';
export { loadKubeConfig, ownNamespace, leaderIdentity } from './kube';
export { StartupError } from './errors';
export {
  OptionValueError,
  LOG_LEVELS,
  parseBoolean,
  parseDuration,
  parseLogLevel,
  parseNamespaces,
  parsePort,
  type OperatorLogLevel,
} from './options';
