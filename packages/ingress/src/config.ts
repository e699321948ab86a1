import { sidecarConfig } from '@l7mp/sidecar';

/** The Prometheus scraping port of the ingress gateways (the helm chart's 8080). */
export const DEFAULT_METRICS_PORT = 8080;

export interface IngressConfigOptions {
  apiAddress: string;
  apiPort: number;
  /** Undefined turns the metrics listener off. */
  metrics?: { address: string; port: number };
}

/**
 * The ingress gateway's default config: the REST API, plus a Prometheus listener that serves
 * `GET /metrics` (as the l7mp-ingress helm chart configures it).
 */
export function ingressConfig(options: IngressConfigOptions): Record<string, unknown> {
  const config = sidecarConfig(options.apiAddress, options.apiPort);
  if (options.metrics === undefined) return config;
  const listeners = Array.isArray(config.listeners) ? config.listeners : [];
  return {
    ...config,
    listeners: [
      ...listeners,
      {
        name: 'prometheus-listener',
        spec: { protocol: 'HTTP', port: options.metrics.port, address: options.metrics.address },
        rules: [
          {
            match: { op: 'starts', path: '/HTTP/url/path', value: '/metrics' },
            action: { route: { destination: { name: 'prometheus', spec: { protocol: 'Prometheus' } } } },
          },
        ],
      },
    ],
  };
}
