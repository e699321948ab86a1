export { startProxy, defaultConfig, TOKEN_ENV, type StartOptions, type RunningProxy } from './start';
export { startFromArgs, parseArgs, loadConfig, type CliIo, type CliOptions } from './cli';
export { ALL_TRANSPORTS } from './transports';
export { createLogger, logDestination, pinoLevel } from './logging';
export { attachAccessLog, accessLogEntry, type AccessLogEntry } from './access-log';
export { apiListeners, isExposed, type ApiEndpoint } from './api-exposure';
export { runUntilSignal, type ClosableApp } from './process';
