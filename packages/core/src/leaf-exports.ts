// The public API of rules (paths, predicates), load balancers, built-in transforms and metrics.
// The package index re-exports this file.
export { cloneValue, compilePath, getAtPath, setAtPath, splitPath } from './rules/path';
export { compilePredicate, type CompiledPredicate } from './rules/predicate';
export {
  ConsistentHashLoadBalancer,
  LeastConnectionsLoadBalancer,
  NO_ENDPOINT_MESSAGE,
  RANDOM_KEY,
  RoundRobinLoadBalancer,
  TrivialLoadBalancer,
  VIRTUAL_NODES_PER_WEIGHT,
  createLoadBalancer,
  type LoadBalancer,
} from './loadbalancer/index';
export {
  DiscardConduit,
  EchoConduit,
  JSONDecapConduit,
  JSONEncapConduit,
  LoggerConduit,
  MetricConduit,
  PrometheusConduit,
  SYNC_BACKLOG_LIMIT,
  StdioConduit,
  SyncConduit,
  TransformConduit,
  builtinTransforms,
  createJSONDecapCluster,
  createLoggerCluster,
  createStdioCluster,
  createSyncCluster,
  type JSONDecapCluster,
} from './transforms/index';
export { ProxyMetrics } from './metrics/proxy-metrics';
