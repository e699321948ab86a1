import { Option } from 'commander';
import { parsePort, type AppOptions, type AppRole } from '@l7mp/sidecar';
import { DEFAULT_METRICS_PORT, ingressConfig } from './config';

export interface IngressOptions extends AppOptions {
  /** False with --no-metrics. */
  metrics: boolean;
  metricsPort: number;
  metricsAddress?: string;
}

/** The ingress gateway role: host network, the REST API plus Prometheus metrics. */
export const ingressRole: AppRole<IngressOptions> = {
  name: 'l7mp-ingress',
  description:
    'The l7mp ingress gateway: serves the REST API (port 1234) and Prometheus metrics (port 8080, /metrics) on the host address.',
  extendCommand: (command) => {
    command
      .addOption(
        new Option('--metrics-port <port>', 'port of the Prometheus /metrics listener')
          .argParser(parsePort)
          .default(DEFAULT_METRICS_PORT),
      )
      .addOption(
        new Option(
          '--metrics-address <address>',
          'address of the metrics listener (default: the API address)',
        ),
      )
      .addOption(new Option('--no-metrics', 'serve no Prometheus metrics'));
  },
  defaultConfig: (options) =>
    ingressConfig({
      apiAddress: options.apiAddress,
      apiPort: options.apiPort,
      ...(options.metrics
        ? { metrics: { address: options.metricsAddress ?? options.apiAddress, port: options.metricsPort } }
        : {}),
    }),
};
