import type { Readable, Writable } from 'node:stream';
import { BaseConduit } from '../transport/base-conduit';
import type {
  ClusterFactory,
  ClusterTransport,
  Conduit,
  ConnectRequest,
  StreamKind,
} from '../transport/types';
import { checkNotAborted } from './transform-conduit';

/**
 * A conduit on the proxy's own standard input and output. It never closes the process streams
 * (other sessions and the logger may use them) and needs no TTY: the anchor called
 * `clearLine()`, which exists only on terminals, and failed in containers and pipes.
 */
export class StdioConduit extends BaseConduit {
  readonly kind: StreamKind = 'byte-stream';
  private readonly onData = (chunk: Buffer | string): void =>
    this.deliverData(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  private readonly onEnd = (): void => this.deliverEnd();
  private readonly onDrain = (): void => this.deliverDrain();
  private readonly onInputError = (error: Error): void => this.destroy(error);

  constructor(
    private readonly input: Readable,
    private readonly output: Writable,
  ) {
    super();
    input.on('data', this.onData);
    input.on('end', this.onEnd);
    input.on('error', this.onInputError);
    output.on('drain', this.onDrain);
    input.resume();
  }

  protected send(chunk: Buffer): boolean {
    return this.output.write(chunk);
  }

  /** The process's stdout stays open: ending it would break every later Stdio session. */
  protected sendEnd(): void {}

  protected release(): void {
    this.input.removeListener('data', this.onData);
    this.input.removeListener('end', this.onEnd);
    this.input.removeListener('error', this.onInputError);
    this.output.removeListener('drain', this.onDrain);
    if (this.input.listenerCount('data') === 0) this.input.pause();
  }

  protected override pauseSource(): void {
    this.input.pause();
  }

  protected override resumeSource(): void {
    this.input.resume();
  }
}

/** The Stdio cluster; `streams` replaces process.stdin/stdout (tests, embedding). */
export function createStdioCluster(streams?: { input: Readable; output: Writable }): ClusterTransport {
  return {
    kind: 'byte-stream',
    virtual: true,
    retriable: false,
    connect(request: ConnectRequest): Promise<Conduit> {
      try {
        checkNotAborted(request, 'Stdio');
        return Promise.resolve(
          new StdioConduit(streams?.input ?? process.stdin, streams?.output ?? process.stdout),
        );
      } catch (error) {
        return Promise.reject(error as Error);
      }
    },
  };
}

export const stdioClusterFactory: ClusterFactory = {
  protocol: 'Stdio',
  create: () => createStdioCluster(),
};
