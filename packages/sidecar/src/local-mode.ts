import path from 'node:path';
import type { TransportPlugin } from './proxy-app';

type ListenerFactory = NonNullable<TransportPlugin['listeners']>[number];
type ClusterFactory = NonNullable<TransportPlugin['clusters']>[number];
type ListenerContext = Parameters<ListenerFactory['create']>[0];
type ClusterContext = Parameters<ClusterFactory['create']>[0];
type ClusterTransport = ReturnType<ClusterFactory['create']>;
type ConnectRequest = Parameters<ClusterTransport['connect']>[0];

/**
 * Local mode: several "pods" on one host. In Kubernetes every pod has its own network namespace
 * and its own /tmp, so configs say "port 8888" and "/tmp/uds-echo.sock" without clashing; on one
 * host these settings give each pod its own address and socket directory instead.
 */
export interface LocalMode {
  /** Listeners that name no address bind this one (in a pod they would bind every interface). */
  listenerAddress?: string;
  /** Absolute Unix socket paths are moved into this directory (`/tmp/x.sock` → `<dir>/x.sock`). */
  udsDir?: string;
}

const UDS = 'UnixDomainSocket';
/** Listener protocols whose spec carries a bind `address`. */
const ADDRESSED = new Set(['UDP', 'TCP', 'WebSocket', 'HTTP']);

/** Where an absolute socket path lands in the pod's directory; relative paths are left alone. */
export function mapSocketPath(file: string, udsDir: string): string {
  return path.isAbsolute(file) ? path.join(udsDir, path.basename(file)) : file;
}

function localListener(factory: ListenerFactory, mode: LocalMode): ListenerFactory {
  return {
    protocol: factory.protocol,
    create: (context: ListenerContext) => {
      const spec = context.spec as Record<string, unknown>;
      let patched: Record<string, unknown> | undefined;
      if (mode.udsDir !== undefined && spec.protocol === UDS && typeof spec.filename === 'string') {
        patched = { ...spec, filename: mapSocketPath(spec.filename, mode.udsDir) };
      } else if (
        mode.listenerAddress !== undefined &&
        ADDRESSED.has(String(spec.protocol)) &&
        spec.address === undefined
      ) {
        patched = { ...spec, address: mode.listenerAddress };
      }
      if (patched === undefined) return factory.create(context);
      return factory.create({ ...context, spec: patched as ListenerContext['spec'] });
    },
  };
}

function localUdsCluster(factory: ClusterFactory, udsDir: string): ClusterFactory {
  return {
    protocol: factory.protocol,
    create: (context: ClusterContext) => {
      const spec = context.spec as Record<string, unknown>;
      const inner = factory.create(
        typeof spec.filename === 'string'
          ? {
              ...context,
              spec: { ...spec, filename: mapSocketPath(spec.filename, udsDir) } as ClusterContext['spec'],
            }
          : context,
      );
      // Endpoints are resolved per connection (once per session, not per message).
      const connect = (request: ConnectRequest) => {
        const endpoint = request.endpoint;
        const address = endpoint?.spec.address;
        if (endpoint === undefined || typeof address !== 'string' || address === '') {
          return inner.connect(request);
        }
        return inner.connect({
          ...request,
          endpoint: { ...endpoint, spec: { ...endpoint.spec, address: mapSocketPath(address, udsDir) } },
        });
      };
      return {
        get kind() {
          return inner.kind;
        },
        virtual: inner.virtual,
        retriable: inner.retriable,
        connect,
        ...(inner.close !== undefined
          ? { close: () => (inner.close as () => Promise<void>).call(inner) }
          : {}),
      };
    },
  };
}

/** The transports with the local-mode rewrites applied; unchanged when `mode` asks for none. */
export function localModeTransports(
  transports: readonly TransportPlugin[],
  mode: LocalMode,
): readonly TransportPlugin[] {
  if (mode.listenerAddress === undefined && mode.udsDir === undefined) return transports;
  const udsDir = mode.udsDir;
  return transports.map((plugin) => ({
    name: plugin.name,
    ...(plugin.listeners !== undefined
      ? { listeners: plugin.listeners.map((factory) => localListener(factory, mode)) }
      : {}),
    ...(plugin.clusters !== undefined
      ? {
          clusters: plugin.clusters.map((factory) =>
            udsDir !== undefined && factory.protocol === UDS ? localUdsCluster(factory, udsDir) : factory,
          ),
        }
      : {}),
  }));
}
