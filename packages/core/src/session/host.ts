import type { Logger } from '../logger';
import type { ObjectStore } from '../store/entries';
import type { Session } from './session';

/** The metric hooks a session calls (implemented by ProxyMetrics). */
export interface SessionMetrics {
  clusterRequest(name: string, protocol: string): void;
  connectFailure(cluster: string): void;
  retry(cluster: string): void;
  sessionStarted(listener: string): void;
  sessionEnded(listener: string): void;
}

/** What a session needs from the proxy that owns it. */
export interface SessionHost {
  readonly store: ObjectStore;
  readonly logger: Logger;
  readonly metrics: SessionMetrics;
  /** All stages are up (first time or after a reconnect). */
  sessionConnected(session: Session): void;
  sessionDisconnected(session: Session, origin: string, error: Error | undefined): void;
  /** The session ended (normally when error is undefined). */
  sessionEnded(session: Session, error: Error | undefined): void;
  /** Torn down; the host keeps it listed for `trackSeconds`, then forgets it. */
  sessionDestroyed(session: Session, trackSeconds: number): void;
  /** Half-closed conduits of an ended session wait to close (true) or are all gone (false). */
  sessionLingering(session: Session, lingering: boolean): void;
  /** A datagram stage feeds an unframed byte stream on this route. */
  unframedHop(route: string, from: string, to: string): void;
}
