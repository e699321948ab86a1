import type { Logger } from './logger';
import type { Session } from './session/session';

/** The kinds of named objects whose additions and removals a proxy reports. */
export type ObjectEventKind = 'listener' | 'cluster' | 'endpoint' | 'rulelist' | 'rule' | 'route';

/** Event name → the arguments its callbacks receive. */
export interface ProxyEventMap {
  /** A listener handed over a connection; the session is about to be routed. */
  'session-start': [session: Session];
  /** Every stage is connected (after setup, and again after each successful reconnect). */
  'session-connect': [session: Session];
  /** A stage of a connected session lost its conduit. */
  'session-disconnect': [session: Session, stage: string, error: Error | undefined];
  /** The session ended; `error` is set when it failed (routing, setup, retries exhausted). */
  'session-end': [session: Session, error: Error | undefined];
  /** Every conduit of the session is released (it stays listed for the listener's `track`). */
  'session-destroy': [session: Session];
  'listener-added': [name: string];
  'listener-removed': [name: string];
  'cluster-added': [name: string];
  'cluster-removed': [name: string];
  'endpoint-added': [name: string, cluster: string];
  'endpoint-removed': [name: string, cluster: string];
  'rulelist-added': [name: string];
  'rulelist-removed': [name: string];
  'rule-added': [name: string];
  'rule-removed': [name: string];
  'route-added': [name: string];
  'route-removed': [name: string];
}

export type ProxyEventName = keyof ProxyEventMap;
export type ProxyEventCallback<E extends ProxyEventName> = (...args: ProxyEventMap[E]) => void;

/**
 * A small typed event emitter. A callback that throws is logged and does not disturb the
 * proxy or the other callbacks (the data path calls `emit`).
 */
export class ProxyEvents {
  // Callbacks of different events have different signatures; `emit` restores the right one.
  private readonly callbacks = new Map<ProxyEventName, Set<unknown>>();

  constructor(private readonly logger: Logger) {}

  on<E extends ProxyEventName>(event: E, callback: ProxyEventCallback<E>): void {
    let set = this.callbacks.get(event);
    if (set === undefined) this.callbacks.set(event, (set = new Set()));
    set.add(callback);
  }

  off<E extends ProxyEventName>(event: E, callback: ProxyEventCallback<E>): void {
    this.callbacks.get(event)?.delete(callback);
  }

  once<E extends ProxyEventName>(event: E, callback: ProxyEventCallback<E>): void {
    const wrapper = ((...args: ProxyEventMap[E]) => {
      this.off(event, wrapper);
      callback(...args);
    }) as ProxyEventCallback<E>;
    this.on(event, wrapper);
  }

  emit<E extends ProxyEventName>(event: E, ...args: ProxyEventMap[E]): void {
    const set = this.callbacks.get(event);
    if (set === undefined || set.size === 0) return;
    for (const callback of [...set]) {
      try {
        (callback as (...a: ProxyEventMap[E]) => void)(...args);
      } catch (error) {
        this.logger.error({ err: error, event }, 'proxy event callback threw');
      }
    }
  }

  removeAll(): void {
    this.callbacks.clear();
  }
}
