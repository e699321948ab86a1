import { createWriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import type { ClusterSpecOf } from '@l7mp/config';
import { ConnectError } from '../errors';
import type {
  ClusterContext,
  ClusterFactory,
  ClusterTransport,
  Conduit,
  ConnectRequest,
} from '../transport/types';
import { checkNotAborted, TransformConduit } from './transform-conduit';

/** Logger: copies every message to the log sink (as `<prefix>: <message>` with a prefix) and passes it on. */
export class LoggerConduit extends TransformConduit {
  constructor(
    private readonly sink: Writable,
    private readonly prefix: Buffer | undefined,
  ) {
    super();
  }

  protected transform(chunk: Buffer): void {
    if (!this.sink.writable) return this.emit(chunk);
    // Two writes instead of a concatenation: no copy of the message per log line.
    if (this.prefix !== undefined) this.sink.write(this.prefix);
    this.sink.write(chunk);
    this.emit(chunk);
  }
}

function isStdout(target: string): boolean {
  return target === '-' || target === 'stdout';
}

/**
 * The Logger cluster. `log_file` is `-`/`stdout` (default), `stderr`, or a file that is opened
 * once per cluster in append mode (the anchor truncated it for every session) and closed with
 * the cluster.
 */
export function createLoggerCluster(context: ClusterContext): ClusterTransport {
  const spec = context.spec as ClusterSpecOf<'Logger'>;
  const target = spec.log_file ?? '-';
  const prefix =
    spec.log_prefix !== undefined && spec.log_prefix !== '' ? Buffer.from(`${spec.log_prefix}: `) : undefined;
  let file: Promise<Writable> | undefined;
  let closed = false;

  const openFile = (): Promise<Writable> =>
    new Promise<Writable>((resolve, reject) => {
      const stream = createWriteStream(target, { flags: 'a' });
      stream.once('open', () => {
        stream.removeListener('error', reject);
        let warned = false;
        // A full disk or a removed file must not crash the proxy: log it once and go on.
        stream.on('error', (error) => {
          if (warned) return;
          warned = true;
          context.logger.warn(
            { err: error },
            `Logger cluster "${context.name}": cannot write to "${target}"`,
          );
        });
        resolve(stream);
      });
      stream.once('error', reject);
    });

  const sink = (): Promise<Writable> => {
    if (target === 'stderr') return Promise.resolve(process.stderr);
    if (isStdout(target)) return Promise.resolve(process.stdout);
    if (file === undefined) {
      file = openFile();
      // A failed open is retried by the next session instead of being remembered forever.
      file.catch(() => (file = undefined));
    }
    return file;
  };

  return {
    kind: 'datagram',
    virtual: true,
    retriable: true,
    async connect(request: ConnectRequest): Promise<Conduit> {
      checkNotAborted(request, context.name);
      if (closed) throw new ConnectError(`Logger cluster "${context.name}" is closed`);
      let stream: Writable;
      try {
        stream = await sink();
      } catch (error) {
        throw new ConnectError(
          `Logger cluster "${context.name}": cannot open log file "${target}": ${(error as Error).message}`,
          { cause: error },
        );
      }
      return new LoggerConduit(stream, prefix);
    },
    async close(): Promise<void> {
      closed = true;
      const pending = file;
      file = undefined;
      if (pending === undefined) return;
      const stream = await pending.catch(() => undefined);
      if (stream === undefined) return;
      await new Promise<void>((resolve) => stream.end(resolve));
    },
  };
}

export const loggerClusterFactory: ClusterFactory = { protocol: 'Logger', create: createLoggerCluster };
