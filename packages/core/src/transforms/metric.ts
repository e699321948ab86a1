import { ProxyMetrics } from '../metrics/proxy-metrics';
import { TrafficStats } from '../metrics/stats';
import type { ClusterFactory } from '../transport/types';
import { simpleTransformCluster } from './echo-discard';
import { TransformConduit } from './transform-conduit';

/**
 * Metric: passes messages through and counts them per session; the counts are exposed as
 * `session_byte_counter_total` / `session_packet_counter_total` until the conduit closes.
 */
export class MetricConduit extends TransformConduit {
  readonly stats = new TrafficStats();

  constructor(private readonly onRelease: () => void) {
    super();
  }

  protected transform(chunk: Buffer): void {
    this.stats.bytesIn += chunk.length;
    this.stats.datagramsIn++;
    this.stats.bytesOut += chunk.length;
    this.stats.datagramsOut++;
    this.emit(chunk);
  }

  protected override release(error?: Error): void {
    this.onRelease();
    super.release(error);
  }

  protected override finish(): void {
    this.onRelease();
    this.finishOutput();
  }
}

export const metricClusterFactory: ClusterFactory = {
  protocol: 'Metric',
  create(context) {
    const metrics = ProxyMetrics.forRegistry(context.metrics);
    return simpleTransformCluster(context, (request) => {
      let registered = true;
      const conduit = new MetricConduit(() => {
        if (!registered) return;
        registered = false;
        metrics.sessionRemoved(request.sessionName, context.name);
      });
      metrics.sessionTraffic(request.sessionName, context.name, conduit.stats);
      return conduit;
    });
  },
};
