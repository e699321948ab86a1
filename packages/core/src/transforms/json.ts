import type { ClusterContext, ClusterFactory, ClusterTransport, SessionMetadata } from '../transport/types';
import type { Logger } from '../logger';
import { simpleTransformCluster } from './echo-discard';
import { TransformConduit } from './transform-conduit';

/**
 * JSONEncap: wraps each message as `{"metadata": <session metadata>, "payload": <base64>}`.
 * The metadata is serialised once per session, not per message.
 */
export class JSONEncapConduit extends TransformConduit {
  private readonly head: string;

  constructor(sessionName: string, metadata: SessionMetadata) {
    super();
    this.head = `{"metadata":${JSON.stringify({ name: sessionName, ...metadata })},"payload":"`;
  }

  protected transform(chunk: Buffer): void {
    this.emit(Buffer.from(`${this.head}${chunk.toString('base64')}"}`));
  }
}

/** Counts what JSONDecap conduits of one cluster dropped. */
export interface DecapCounters {
  dropped: number;
}

/**
 * JSONDecap: turns `{"payload": <base64>, ...}` back into the payload bytes. A message that is not
 * such JSON is dropped (the anchor emitted an empty message instead); drops are counted per
 * cluster and logged once per session.
 */
export class JSONDecapConduit extends TransformConduit {
  private warned = false;

  constructor(
    private readonly counters: DecapCounters,
    private readonly logger: Logger,
    private readonly describe: () => string,
  ) {
    super();
  }

  protected transform(chunk: Buffer): void {
    const payload = decodePayload(chunk);
    if (payload !== undefined) {
      this.emit(payload);
      return;
    }
    this.counters.dropped++;
    if (!this.warned) {
      this.warned = true;
      this.logger.warn(`${this.describe()}: dropping a message that is not JSON with a string "payload"`);
    }
  }
}

function decodePayload(chunk: Buffer): Buffer | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(chunk.toString('utf8'));
  } catch {
    return undefined;
  }
  if (parsed === null || typeof parsed !== 'object') return undefined;
  const payload = (parsed as { payload?: unknown }).payload;
  return typeof payload === 'string' ? Buffer.from(payload, 'base64') : undefined;
}

export const jsonEncapClusterFactory: ClusterFactory = {
  protocol: 'JSONEncap',
  create: (context) =>
    simpleTransformCluster(context, (request) => new JSONEncapConduit(request.sessionName, request.metadata)),
};

/** The JSONDecap cluster; `dropped` counts invalid messages over all its sessions. */
export interface JSONDecapCluster extends ClusterTransport {
  readonly dropped: number;
}

export function createJSONDecapCluster(context: ClusterContext): JSONDecapCluster {
  const counters: DecapCounters = { dropped: 0 };
  const transport = simpleTransformCluster(
    context,
    (request) =>
      new JSONDecapConduit(
        counters,
        context.logger,
        () => `JSONDecap cluster "${context.name}", session "${request.sessionName}"`,
      ),
  );
  return {
    kind: transport.kind,
    virtual: transport.virtual,
    retriable: transport.retriable,
    connect: transport.connect,
    get dropped(): number {
      return counters.dropped;
    },
  };
}

export const jsonDecapClusterFactory: ClusterFactory = {
  protocol: 'JSONDecap',
  create: createJSONDecapCluster,
};
