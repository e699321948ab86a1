import { BadRequestError } from './errors';
import type {
  ClusterContext,
  ClusterFactory,
  ClusterTransport,
  ListenerContext,
  ListenerFactory,
  ListenerTransport,
  TransportFactories,
  TransportPlugin,
} from './transport/types';

function describeRegistered(kind: string, protocols: readonly string[]): string {
  return protocols.length === 0
    ? `no ${kind} protocols are registered`
    : `registered ${kind} protocols: ${protocols.join(', ')}`;
}

/**
 * Maps protocol names to the factories of the transport plug-ins registered into a proxy. A
 * later plug-in may replace a protocol of an earlier one, so an application can swap a built-in
 * implementation for its own.
 */
export class TransportRegistry implements TransportFactories {
  private readonly listenerFactories = new Map<string, ListenerFactory>();
  private readonly clusterFactories = new Map<string, ClusterFactory>();
  private readonly pluginNames: string[] = [];

  constructor(plugins: readonly TransportPlugin[] = []) {
    for (const plugin of plugins) this.register(plugin);
  }

  register(plugin: TransportPlugin): void {
    this.pluginNames.push(plugin.name);
    for (const factory of plugin.listeners ?? []) this.listenerFactories.set(factory.protocol, factory);
    for (const factory of plugin.clusters ?? []) this.clusterFactories.set(factory.protocol, factory);
  }

  get plugins(): readonly string[] {
    return this.pluginNames;
  }

  listenerProtocols(): string[] {
    return [...this.listenerFactories.keys()];
  }

  clusterProtocols(): string[] {
    return [...this.clusterFactories.keys()];
  }

  hasListener(protocol: string): boolean {
    return this.listenerFactories.has(protocol);
  }

  hasCluster(protocol: string): boolean {
    return this.clusterFactories.has(protocol);
  }

  /** The problem with using `protocol` for a listener, or undefined when it is registered. */
  listenerProblem(protocol: string): string | undefined {
    if (this.listenerFactories.has(protocol)) return undefined;
    return `Unknown listener protocol "${protocol}" (${describeRegistered('listener', this.listenerProtocols())})`;
  }

  clusterProblem(protocol: string): string | undefined {
    if (this.clusterFactories.has(protocol)) return undefined;
    return `Unknown cluster protocol "${protocol}" (${describeRegistered('cluster', this.clusterProtocols())})`;
  }

  createListener(context: ListenerContext): ListenerTransport {
    const factory = this.listenerFactories.get(context.spec.protocol);
    if (factory === undefined) {
      throw new BadRequestError(
        `Cannot create listener "${context.name}": ${this.listenerProblem(context.spec.protocol) ?? ''}`,
      );
    }
    return factory.create(context);
  }

  createCluster(context: ClusterContext): ClusterTransport {
    const factory = this.clusterFactories.get(context.spec.protocol);
    if (factory === undefined) {
      throw new BadRequestError(
        `Cannot create cluster "${context.name}": ${this.clusterProblem(context.spec.protocol) ?? ''}`,
      );
    }
    return factory.create(context);
  }
}
