import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export type ReconcileOutcome = 'success' | 'error';

/** The operator's Prometheus metrics, on a registry of their own (never prom-client's global one). */
export class OperatorMetrics {
  readonly registry = new Registry();
  readonly reconcileDuration: Histogram<'outcome'>;
  readonly reconcileErrors: Counter;
  readonly queueDepth: Gauge;
  readonly proxiesInSync: Gauge;
  readonly proxies: Gauge;
  readonly leader: Gauge;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.reconcileDuration = new Histogram({
      name: 'l7mp_operator_reconcile_duration_seconds',
      help: 'Time to reconcile one proxy (render, compare, apply), by outcome',
      labelNames: ['outcome'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.reconcileErrors = new Counter({
      name: 'l7mp_operator_reconcile_errors_total',
      help: 'Reconciliations that failed and were requeued',
      registers,
    });
    this.queueDepth = new Gauge({
      name: 'l7mp_operator_queue_depth',
      help: 'Proxies waiting in the work queue',
      registers,
    });
    this.proxiesInSync = new Gauge({
      name: 'l7mp_operator_proxies_in_sync',
      help: 'Proxies whose configuration matches the rendered desired state',
      registers,
    });
    this.proxies = new Gauge({
      name: 'l7mp_operator_proxies',
      help: 'Proxies the operator manages (selected by at least one resource)',
      registers,
    });
    this.leader = new Gauge({
      name: 'l7mp_operator_leader',
      help: '1 while this replica is the leader and reconciles, else 0',
      registers,
    });
    // Process metrics (CPU, memory, event loop lag) are what an operator's dashboard shows next.
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }

  observeReconcile(seconds: number, outcome: ReconcileOutcome): void {
    this.reconcileDuration.observe({ outcome }, seconds);
    if (outcome === 'error') this.reconcileErrors.inc();
  }
}

export interface HealthChecks {
  /** Liveness: false only when the process cannot recover by itself (e.g. a watch gave up for good). */
  healthy: () => boolean;
  /** Readiness: true once the caches are synced (a standby replica is ready too). */
  ready: () => boolean;
}

export interface MetricsServer {
  readonly server: Server;
  readonly port: number;
  readonly address: string;
  close(): Promise<void>;
}

function reply(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  metrics: OperatorMetrics,
  checks: HealthChecks,
): Promise<void> {
  const path = (req.url ?? '/').split('?', 1)[0];
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    reply(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n');
    return;
  }
  switch (path) {
    case '/metrics':
      reply(res, 200, metrics.registry.contentType, await metrics.registry.metrics());
      return;
    case '/healthz':
      if (checks.healthy()) reply(res, 200, 'text/plain; charset=utf-8', 'ok\n');
      else reply(res, 503, 'text/plain; charset=utf-8', 'unhealthy\n');
      return;
    case '/readyz':
      if (checks.ready()) reply(res, 200, 'text/plain; charset=utf-8', 'ok\n');
      else reply(res, 503, 'text/plain; charset=utf-8', 'not ready\n');
      return;
    default:
      reply(res, 404, 'text/plain; charset=utf-8', 'not found\n');
  }
}

/** Serves /metrics, /healthz and /readyz; resolves once listening (port 0 picks a free port). */
export async function startMetricsServer(
  metrics: OperatorMetrics,
  checks: HealthChecks,
  listen: { port: number; address: string },
): Promise<MetricsServer> {
  const server = createServer((req, res) => {
    handle(req, res, metrics, checks).catch((error: unknown) => {
      // A failing collector must not take the process down; the scrape just fails.
      if (!res.headersSent) reply(res, 500, 'text/plain; charset=utf-8', `${String(error)}\n`);
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error): void => {
      server.off('listening', onListening);
      reject(new MetricsServerError(listen, error));
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(listen.port, listen.address);
  });
  // Errors after start-up (none expected from a listening server) are ignored, not fatal.
  server.on('error', () => undefined);
  const bound = server.address() as AddressInfo;
  return {
    server,
    port: bound.port,
    address: bound.address,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export class MetricsServerError extends Error {
  constructor(listen: { port: number; address: string }, cause: Error) {
    super(`metrics server: cannot listen on ${listen.address}:${listen.port}: ${cause.message}`, { cause });
    this.name = 'MetricsServerError';
  }
}
