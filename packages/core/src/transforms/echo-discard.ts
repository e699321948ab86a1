import type {
  ClusterContext,
  ClusterFactory,
  ClusterTransport,
  Conduit,
  ConnectRequest,
} from '../transport/types';
import { checkNotAborted, TransformConduit } from './transform-conduit';

/** Echo: every message written comes back as a message; the end of input ends the output. */
export class EchoConduit extends TransformConduit {
  protected transform(chunk: Buffer): void {
    this.emit(chunk);
  }
}

/** Discard: swallows every message; the end of input ends the (empty) output. */
export class DiscardConduit extends TransformConduit {
  protected transform(_chunk: Buffer): void {}
}

/** A virtual cluster whose connect just builds a conduit. */
export function simpleTransformCluster(
  context: ClusterContext,
  open: (request: ConnectRequest) => Conduit,
): ClusterTransport {
  return {
    kind: 'datagram',
    virtual: true,
    retriable: true,
    connect(request: ConnectRequest): Promise<Conduit> {
      try {
        checkNotAborted(request, context.name);
        return Promise.resolve(open(request));
      } catch (error) {
        return Promise.reject(error as Error);
      }
    },
  };
}

export const echoClusterFactory: ClusterFactory = {
  protocol: 'Echo',
  create: (context) => simpleTransformCluster(context, () => new EchoConduit()),
};

export const discardClusterFactory: ClusterFactory = {
  protocol: 'Discard',
  create: (context) => simpleTransformCluster(context, () => new DiscardConduit()),
};
