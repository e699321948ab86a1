import { Counter, Gauge, type Registry } from 'prom-client';
import { L7mpError } from '../errors';
import type { TrafficStats } from './stats';

type Labels = Record<string, string>;
type Sample = readonly [labels: Labels, value: number];

interface ListenerRecord {
  readonly labels: Labels;
  readonly protocol: string;
  stats: TrafficStats | undefined;
  requests: number;
  sessionsTotal: number;
  sessionsActive: number;
}

interface ClusterRecord {
  readonly labels: Labels;
  readonly protocol: string;
  stats: TrafficStats | undefined;
  requests: number;
  connectFailures: number;
  retries: number;
}

interface EndpointRecord {
  readonly cluster: string;
  readonly labels: Labels;
  readonly stats: TrafficStats;
}

interface SessionRecord {
  readonly labels: Labels;
  readonly stats: TrafficStats;
}

const byRegistry = new WeakMap<Registry, ProxyMetrics>();

/**
 * The proxy's Prometheus metrics. The data path only bumps plain fields (TrafficStats, the
 * counters below); every value is copied into prom-client when the registry is scraped, so a
 * packet costs no label lookup. Series of removed listeners, clusters, endpoints and ended
 * sessions disappear from the next scrape.
 *
 * Anchor-compatible series (§7): `listener_requests_total{listenerName,protocol}`,
 * `cluster_requests_total{clusterName,protocol}`,
 * `session_byte_counter_total{sessionName,clusterName}` and
 * `session_packet_counter_total{sessionName,clusterName}` (Metric clusters). Ours carry the
 * `l7mp_` prefix; "in" is what the object received from its peer, "out" what it sent to it.
 */
export class ProxyMetrics {
  private readonly listeners = new Map<string, ListenerRecord>();
  private readonly clusters = new Map<string, ClusterRecord>();
  private readonly endpoints = new Map<string, EndpointRecord>();
  private readonly sessions = new Map<string, Map<string, SessionRecord>>();

  /** The ProxyMetrics of `registry`, created on first use (Metric clusters find it this way). */
  static forRegistry(registry: Registry): ProxyMetrics {
    return byRegistry.get(registry) ?? new ProxyMetrics(registry);
  }

  constructor(readonly registry: Registry) {
    if (byRegistry.has(registry)) {
      throw new L7mpError(
        'ProxyMetrics: this Prometheus registry already has the proxy metrics; use ProxyMetrics.forRegistry()',
      );
    }
    byRegistry.set(registry, this);
    this.defineAnchorMetrics();
    this.defineListenerMetrics();
    this.defineClusterMetrics();
    this.defineEndpointMetrics();
  }

  // ------------------------------------------------------------- listeners

  listenerAdded(name: string, protocol: string, stats: TrafficStats): void {
    this.listenerRecord(name, protocol).stats = stats;
  }

  listenerRemoved(name: string): void {
    this.listeners.delete(name);
  }

  /** A listener handed a session request to the proxy (counted even if routing fails). */
  listenerRequest(name: string, protocol: string): void {
    this.listenerRecord(name, protocol).requests++;
  }

  sessionStarted(listener: string): void {
    const record = this.listeners.get(listener);
    if (record === undefined) return;
    record.sessionsTotal++;
    record.sessionsActive++;
  }

  sessionEnded(listener: string): void {
    const record = this.listeners.get(listener);
    if (record !== undefined && record.sessionsActive > 0) record.sessionsActive--;
  }

  // ------------------------------------------------------------- clusters and endpoints

  clusterAdded(name: string, protocol: string, stats: TrafficStats): void {
    this.clusterRecord(name, protocol).stats = stats;
  }

  clusterRemoved(name: string): void {
    this.clusters.delete(name);
    for (const [key, endpoint] of this.endpoints) if (endpoint.cluster === name) this.endpoints.delete(key);
  }

  /** A stage of a session connected to this cluster during the session's initial setup. */
  clusterRequest(name: string, protocol: string): void {
    this.clusterRecord(name, protocol).requests++;
  }

  connectFailure(cluster: string): void {
    const record = this.clusters.get(cluster);
    if (record !== undefined) record.connectFailures++;
  }

  retry(cluster: string): void {
    const record = this.clusters.get(cluster);
    if (record !== undefined) record.retries++;
  }

  endpointAdded(cluster: string, endpoint: string, stats: TrafficStats): void {
    this.endpoints.set(endpointKey(cluster, endpoint), {
      cluster,
      labels: { clusterName: cluster, endpointName: endpoint },
      stats,
    });
  }

  endpointRemoved(cluster: string, endpoint: string): void {
    this.endpoints.delete(endpointKey(cluster, endpoint));
  }

  // ------------------------------------------------------------- sessions (Metric clusters)

  /** Exposes the traffic a Metric cluster counts for one session. */
  sessionTraffic(sessionName: string, clusterName: string, stats: TrafficStats): void {
    let perCluster = this.sessions.get(sessionName);
    if (perCluster === undefined) this.sessions.set(sessionName, (perCluster = new Map()));
    perCluster.set(clusterName, { labels: { sessionName, clusterName }, stats });
  }

  /** Drops the session's series (of one Metric cluster, or of all when `clusterName` is omitted). */
  sessionRemoved(sessionName: string, clusterName?: string): void {
    if (clusterName === undefined) {
      this.sessions.delete(sessionName);
      return;
    }
    const perCluster = this.sessions.get(sessionName);
    if (perCluster === undefined) return;
    perCluster.delete(clusterName);
    if (perCluster.size === 0) this.sessions.delete(sessionName);
  }

  // ------------------------------------------------------------- internals

  private listenerRecord(name: string, protocol: string): ListenerRecord {
    let record = this.listeners.get(name);
    if (record === undefined) {
      record = {
        labels: { listenerName: name },
        protocol,
        stats: undefined,
        requests: 0,
        sessionsTotal: 0,
        sessionsActive: 0,
      };
      this.listeners.set(name, record);
    }
    return record;
  }

  private clusterRecord(name: string, protocol: string): ClusterRecord {
    let record = this.clusters.get(name);
    if (record === undefined) {
      record = {
        labels: { clusterName: name },
        protocol,
        stats: undefined,
        requests: 0,
        connectFailures: 0,
        retries: 0,
      };
      this.clusters.set(name, record);
    }
    return record;
  }

  private defineAnchorMetrics(): void {
    const listeners = this.listeners;
    const clusters = this.clusters;
    const sessions = this.sessions;
    this.counter(
      'listener_requests_total',
      'Total number of requests',
      ['listenerName', 'protocol'],
      function* () {
        for (const [name, r] of listeners) yield [{ listenerName: name, protocol: r.protocol }, r.requests];
      },
    );
    this.counter(
      'cluster_requests_total',
      'Total number of requests',
      ['clusterName', 'protocol'],
      function* () {
        for (const [name, r] of clusters) yield [{ clusterName: name, protocol: r.protocol }, r.requests];
      },
    );
    function* sessionSamples(pick: (stats: TrafficStats) => number): Generator<Sample> {
      for (const perCluster of sessions.values())
        for (const s of perCluster.values()) yield [s.labels, pick(s.stats)];
    }
    // The HELP strings are the anchor's, typo included, so existing dashboards keep matching.
    this.counter(
      'session_byte_counter_total',
      'Total number of bytes that flows trough the cluster',
      ['sessionName', 'clusterName'],
      () => sessionSamples((s) => s.bytesIn),
    );
    this.counter(
      'session_packet_counter_total',
      'Total number of packets that flows trough the cluster',
      ['sessionName', 'clusterName'],
      () => sessionSamples((s) => s.datagramsIn),
    );
  }

  private defineListenerMetrics(): void {
    const listeners = this.listeners;
    const labels = ['listenerName'];
    this.counter('l7mp_listener_sessions_total', 'Sessions accepted by the listener', labels, function* () {
      for (const r of listeners.values()) if (r.stats !== undefined) yield [r.labels, r.sessionsTotal];
    });
    this.gauge(
      'l7mp_listener_sessions_active',
      'Sessions of the listener that are still open',
      labels,
      function* () {
        for (const r of listeners.values()) if (r.stats !== undefined) yield [r.labels, r.sessionsActive];
      },
    );
    this.trafficCounters('listener', 'listener', labels, function* () {
      for (const r of listeners.values()) if (r.stats !== undefined) yield [r.labels, r.stats];
    });
  }

  private defineClusterMetrics(): void {
    const clusters = this.clusters;
    const labels = ['clusterName'];
    this.trafficCounters('cluster', 'cluster', labels, function* () {
      for (const r of clusters.values()) if (r.stats !== undefined) yield [r.labels, r.stats];
    });
    this.counter(
      'l7mp_cluster_connect_failures_total',
      'Failed connect attempts to the cluster',
      labels,
      function* () {
        for (const r of clusters.values()) if (r.stats !== undefined) yield [r.labels, r.connectFailures];
      },
    );
    this.counter(
      'l7mp_cluster_retries_total',
      'Connect retries and reconnects to the cluster',
      labels,
      function* () {
        for (const r of clusters.values()) if (r.stats !== undefined) yield [r.labels, r.retries];
      },
    );
  }

  private defineEndpointMetrics(): void {
    const endpoints = this.endpoints;
    this.trafficCounters('endpoint', 'endpoint', ['clusterName', 'endpointName'], function* () {
      for (const r of endpoints.values()) yield [r.labels, r.stats];
    });
  }

  /** The four byte/datagram counters of one kind of object. */
  private trafficCounters(
    prefix: string,
    what: string,
    labelNames: string[],
    entries: () => Iterable<readonly [Labels, TrafficStats]>,
  ): void {
    const fields = [
      ['bytes_in', 'Bytes the %s received from its peers', (s: TrafficStats) => s.bytesIn],
      ['bytes_out', 'Bytes the %s sent to its peers', (s: TrafficStats) => s.bytesOut],
      [
        'datagrams_in',
        'Messages (or chunks of byte streams) the %s received',
        (s: TrafficStats) => s.datagramsIn,
      ],
      [
        'datagrams_out',
        'Messages (or chunks of byte streams) the %s sent',
        (s: TrafficStats) => s.datagramsOut,
      ],
    ] as const;
    for (const [suffix, help, read] of fields) {
      this.counter(`l7mp_${prefix}_${suffix}_total`, help.replace('%s', what), labelNames, function* () {
        for (const [labels, stats] of entries()) yield [labels, read(stats)];
      });
    }
  }

  private counter(name: string, help: string, labelNames: string[], samples: () => Iterable<Sample>): void {
    const counter: Counter = new Counter({
      name,
      help,
      labelNames,
      registers: [this.registry],
      collect() {
        counter.reset();
        for (const [labels, value] of samples()) counter.inc(labels, value);
      },
    });
  }

  private gauge(name: string, help: string, labelNames: string[], samples: () => Iterable<Sample>): void {
    const gauge: Gauge = new Gauge({
      name,
      help,
      labelNames,
      registers: [this.registry],
      collect() {
        gauge.reset();
        for (const [labels, value] of samples()) gauge.set(labels, value);
      },
    });
  }
}

function endpointKey(cluster: string, endpoint: string): string {
  return `${cluster}\u0000${endpoint}`;
}
