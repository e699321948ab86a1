import type { TransportPlugin } from '../transport/types';
import { discardClusterFactory, echoClusterFactory } from './echo-discard';
import { jsonDecapClusterFactory, jsonEncapClusterFactory } from './json';
import { loggerClusterFactory } from './logger';
import { metricClusterFactory } from './metric';
import { prometheusClusterFactory } from './prometheus';
import { stdioClusterFactory } from './stdio';
import { syncClusterFactory } from './sync';

export { DiscardConduit, EchoConduit, discardClusterFactory, echoClusterFactory } from './echo-discard';
export {
  JSONDecapConduit,
  JSONEncapConduit,
  createJSONDecapCluster,
  jsonDecapClusterFactory,
  jsonEncapClusterFactory,
  type JSONDecapCluster,
} from './json';
export { LoggerConduit, createLoggerCluster, loggerClusterFactory } from './logger';
export { MetricConduit, metricClusterFactory } from './metric';
export { PrometheusConduit, prometheusClusterFactory } from './prometheus';
export { StdioConduit, createStdioCluster, stdioClusterFactory } from './stdio';
export { SYNC_BACKLOG_LIMIT, SyncConduit, createSyncCluster, syncClusterFactory } from './sync';
export { TransformConduit } from './transform-conduit';

/** The clusters that run inside the proxy (anchor §2.7), registered like any transport. */
export const builtinTransforms: TransportPlugin = {
  name: 'builtin',
  clusters: [
    echoClusterFactory,
    discardClusterFactory,
    loggerClusterFactory,
    jsonEncapClusterFactory,
    jsonDecapClusterFactory,
    syncClusterFactory,
    metricClusterFactory,
    stdioClusterFactory,
    prometheusClusterFactory,
  ],
};
