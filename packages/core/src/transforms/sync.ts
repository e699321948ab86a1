import type { ClusterSpecOf } from '@l7mp/config';
import { ConnectError } from '../errors';
import { compilePath } from '../rules/path';
import type {
  ClusterContext,
  ClusterFactory,
  ClusterTransport,
  Conduit,
  ConnectRequest,
} from '../transport/types';
import { checkNotAborted, TransformConduit } from './transform-conduit';

/** Messages kept for the first peer while a session waits alone in its group. */
export const SYNC_BACKLOG_LIMIT = 1024;

class SyncGroup {
  readonly members = new Set<SyncConduit>();
  backlog: Buffer[] = [];
  dropped = 0;
}

/**
 * One session's port in a Sync group: what it writes goes to every other member; while it is
 * alone its messages are kept (up to SYNC_BACKLOG_LIMIT) and handed to the first peer that joins.
 */
export class SyncConduit extends TransformConduit {
  constructor(
    private readonly group: SyncGroup,
    private readonly leave: (member: SyncConduit) => void,
  ) {
    super();
  }

  /** Called by a peer: one message for this session. */
  receive(chunk: Buffer): void {
    this.emit(chunk);
  }

  protected transform(chunk: Buffer): void {
    const members = this.group.members;
    if (members.size <= 1) {
      if (this.group.backlog.length < SYNC_BACKLOG_LIMIT) this.group.backlog.push(chunk);
      else this.group.dropped++;
      return;
    }
    for (const member of members) if (member !== this) member.receive(chunk);
  }

  protected override finish(): void {
    this.leave(this);
    this.finishOutput();
  }

  protected override release(error?: Error): void {
    this.leave(this);
    super.release(error);
  }
}

/** The Sync cluster: sessions whose metadata gives the same label (`spec.query`) are stitched together. */
export function createSyncCluster(
  context: ClusterContext,
): ClusterTransport & { readonly groupCount: number } {
  const spec = context.spec as ClusterSpecOf<'Sync'>;
  const readLabel = compilePath(spec.query);
  const groups = new Map<string, SyncGroup>();

  const leave = (label: string, group: SyncGroup) => (member: SyncConduit) => {
    if (!group.members.delete(member)) return;
    if (group.members.size === 0 && groups.get(label) === group) groups.delete(label);
  };

  const join = (request: ConnectRequest): Conduit => {
    const value = readLabel(request.metadata);
    if (value === undefined || value === null || value === '') {
      throw new ConnectError(
        `Sync cluster "${context.name}": session "${request.sessionName}": query "${spec.query}" gives no label`,
      );
    }
    const label = typeof value === 'string' ? value : JSON.stringify(value);
    let group = groups.get(label);
    if (group === undefined) groups.set(label, (group = new SyncGroup()));
    const member = new SyncConduit(group, leave(label, group));
    group.members.add(member);
    if (group.members.size > 1 && group.backlog.length > 0) {
      const backlog = group.backlog;
      group.backlog = [];
      for (const chunk of backlog) member.receive(chunk);
    }
    if (group.dropped > 0) {
      context.logger.warn(
        `Sync cluster "${context.name}": label "${label}": ${group.dropped} messages dropped while waiting for a peer`,
      );
      group.dropped = 0;
    }
    return member;
  };

  return {
    kind: 'datagram',
    virtual: true,
    retriable: true,
    connect(request: ConnectRequest): Promise<Conduit> {
      try {
        checkNotAborted(request, context.name);
        return Promise.resolve(join(request));
      } catch (error) {
        return Promise.reject(error as Error);
      }
    },
    close(): Promise<void> {
      for (const group of [...groups.values()]) for (const member of [...group.members]) member.destroy();
      groups.clear();
      return Promise.resolve();
    },
    get groupCount(): number {
      return groups.size;
    },
  };
}

export const syncClusterFactory: ClusterFactory = { protocol: 'Sync', create: createSyncCluster };
