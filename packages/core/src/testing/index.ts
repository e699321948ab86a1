/** `@l7mp/core/testing`: the transport compliance suite and small helpers for tests. */
export { describeTransportCompliance, type BoundAddress, type TransportUnderTest } from './compliance';
export {
  DEFAULT_WAIT_MS,
  collect,
  createTestLogger,
  createTransportFactories,
  makeClusterContext,
  makeListenerContext,
  nextEvent,
  withTimeout,
  type ConduitCollector,
  type LogRecord,
  type TestContextOptions,
  type TestListenerContext,
} from './helpers';
export {
  BLACKHOLE_PREFIX,
  LoopbackConduit,
  createLoopbackPlugin,
  loopbackTarget,
  type LoopbackListenerSpec,
} from './loopback';
export * from './net';
