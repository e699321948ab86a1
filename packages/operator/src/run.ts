import { pino, type DestinationStream, type Logger } from 'pino';
import { createReconciler, type Reconciler, type ReconcilerOptions } from '@l7mp/reconciler';
import type { OperatorOptions } from './cli';
import { checkReadable, leaderIdentity, loadKubeConfig, ownNamespace } from './kube';
import { OperatorMetrics, startMetricsServer, type MetricsServer } from './metrics';

export interface RunningOperator {
  readonly reconciler: Reconciler;
  readonly metrics: OperatorMetrics;
  readonly metricsServer: MetricsServer;
  readonly logger: Logger;
  /** The namespaces watched; empty means all. */
  readonly namespaces: readonly string[];
  /** Stops reconciling, then the metrics server. Safe to call more than once. */
  stop(): Promise<void>;
}

export interface StartDependencies {
  env: NodeJS.ProcessEnv;
  /** Where logs go (default: stdout, synchronously, so nothing is lost on exit). */
  logDestination?: DestinationStream;
  /** Replaceable for tests of the wiring; defaults to @l7mp/reconciler's. */
  createReconciler?: (options: ReconcilerOptions) => Reconciler;
  /** Where the service account is mounted (tests point it elsewhere). */
  serviceAccountDir?: string;
}

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    { level, base: { name: 'l7mp-operator' } },
    destination ?? pino.destination({ dest: 1, sync: true }),
  );
}

/**
 * Starts the operator: metrics and health endpoints first (so probes answer while waiting for the
 * Lease), then the reconciler. Throws StartupError/MetricsServerError and leaves nothing running.
 */
export async function startOperator(
  options: OperatorOptions,
  deps: StartDependencies,
): Promise<RunningOperator> {
  const logger = createLogger(options.logLevel, deps.logDestination);
  const kubeConfig = loadKubeConfig(options.kubeconfig, deps.env);
  if (options.tokenFile !== undefined) await checkReadable(options.tokenFile);
  const namespace = ownNamespace(kubeConfig, deps.env, deps.serviceAccountDir);
  const namespaces = options.allNamespaces
    ? []
    : options.namespaces.length > 0
      ? options.namespaces
      : [namespace];

  const metrics = new OperatorMetrics();
  let started = false;
  const metricsServer = await startMetricsServer(
    metrics,
    { healthy: () => true, ready: () => started },
    { port: options.metricsPort, address: options.metricsAddress },
  );
  logger.info(
    { address: metricsServer.address, port: metricsServer.port },
    'serving /metrics, /healthz and /readyz',
  );

  const reconcilerOptions: ReconcilerOptions = {
    kubeConfig,
    namespaces,
    apiPort: options.proxyApiPort,
    ...(options.tokenFile !== undefined ? { tokenFile: options.tokenFile } : {}),
    resyncPeriodMs: options.resyncPeriodMs,
    ...(options.leaderElection
      ? {
          leaderElection: {
            namespace: options.leaderElectionNamespace ?? namespace,
            leaseName: options.leaderElectionId,
            identity: leaderIdentity(deps.env),
          },
        }
      : {}),
    logger,
    hooks: {
      onReconcile: (event) =>
        metrics.observeReconcile(event.durationMs / 1000, event.outcome === 'error' ? 'error' : 'success'),
      onQueueDepth: (depth) => metrics.queueDepth.set(depth),
      onProxiesInSync: (inSync, total) => {
        metrics.proxiesInSync.set(inSync);
        metrics.proxies.set(total);
      },
      onLeadership: (leading) => {
        metrics.leader.set(leading ? 1 : 0);
        logger.info({ leading }, leading ? 'became the leader: reconciling' : 'not the leader: standing by');
      },
    },
  };
  const reconciler = (deps.createReconciler ?? createReconciler)(reconcilerOptions);
  try {
    await reconciler.start();
  } catch (error) {
    await reconciler.stop().catch(() => undefined);
    await metricsServer.close();
    throw error;
  }
  started = true;
  // Without leader election the reconciler leads at once and reports no leadership change.
  if (!options.leaderElection) metrics.leader.set(1);
  logger.info(
    {
      namespaces: namespaces.length > 0 ? namespaces : 'all',
      proxyApiPort: options.proxyApiPort,
      leaderElection: options.leaderElection,
    },
    'l7mp operator started',
  );

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      started = false;
      try {
        await reconciler.stop();
      } finally {
        await metricsServer.close();
      }
    })();
    return stopping;
  };
  return { reconciler, metrics, metricsServer, logger, namespaces, stop };
}
