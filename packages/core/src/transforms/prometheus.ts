import type { Registry } from 'prom-client';
import type { ClusterFactory } from '../transport/types';
import { simpleTransformCluster } from './echo-discard';
import { TransformConduit } from './transform-conduit';

/**
 * Prometheus: reads the request to its end, then answers with a 200 head carrying the registry's
 * content type, the text exposition as one message, and the end.
 */
export class PrometheusConduit extends TransformConduit {
  constructor(private readonly registry: Registry) {
    super();
  }

  protected transform(_request: Buffer): void {}

  protected override finish(): void {
    this.registry.metrics().then(
      (text) => {
        if (this.closed) return;
        this.deliverHead({ status: 200, headers: { 'content-type': this.registry.contentType } });
        this.emit(Buffer.from(text));
        this.finishOutput();
      },
      (error: unknown) => this.destroy(error instanceof Error ? error : new Error(String(error))),
    );
  }
}

export const prometheusClusterFactory: ClusterFactory = {
  protocol: 'Prometheus',
  create: (context) => simpleTransformCluster(context, () => new PrometheusConduit(context.metrics)),
};
