import { PatchStrategy, setHeaderOptions, type CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { podKey } from '../render/pods';
import type { OwnedConfig } from '../render/types';

/**
 * Set on a pod while its proxy runs objects of the operator. It is the cluster's record of which
 * pods were programmed: a restarted operator cleans up marked pods that nothing selects any more.
 */
export const PROGRAMMED_ANNOTATION = 'l7mp.io/programmed';

/** The pod's programmed mark could not be written (the proxy itself may be in sync). */
export class ProgrammedMarkError extends Error {
  constructor(
    readonly pod: string,
    readonly marked: boolean,
    cause: Error,
  ) {
    super(
      `cannot ${marked ? 'set' : 'remove'} the ${PROGRAMMED_ANNOTATION} annotation of pod ${pod}: ${cause.message}`,
      { cause },
    );
    this.name = 'ProgrammedMarkError';
  }
}

/** Whether a proxy with this owned part runs any object of the operator. */
export function hasOwnedObjects(owned: OwnedConfig): boolean {
  return owned.listeners.length > 0 || owned.clusters.length > 0 || owned.rules.length > 0;
}

const annotated = (pod: V1Pod): boolean => pod.metadata?.annotations?.[PROGRAMMED_ANNOTATION] === 'true';

interface MarkWrite {
  readonly marked: boolean;
  /** resourceVersion of the pod our PATCH produced; undefined while the PATCH is in flight. */
  resourceVersion: string | undefined;
}

/**
 * Reads and writes the programmed mark of proxy pods. The pod informer's cache lags behind our own
 * writes, so the last write wins until the watch reports it; the watch event of our own write
 * changes nothing that rendering reads, and is recognised by its resourceVersion.
 */
export class ProgrammedMarks {
  private readonly writes = new Map<string, MarkWrite>();

  constructor(private readonly core: CoreV1Api) {}

  isMarked(pod: V1Pod): boolean {
    return this.writes.get(podKey(pod))?.marked ?? annotated(pod);
  }

  /** Merge-patches the annotation onto the pod (or off it); throws ProgrammedMarkError. */
  async mark(pod: V1Pod, marked: boolean): Promise<void> {
    const key = podKey(pod);
    const write: MarkWrite = { marked, resourceVersion: undefined };
    this.writes.set(key, write);
    try {
      const patched = await this.core.patchNamespacedPod(
        {
          name: pod.metadata?.name ?? '',
          namespace: pod.metadata?.namespace ?? 'default',
          body: { metadata: { annotations: { [PROGRAMMED_ANNOTATION]: marked ? 'true' : null } } },
        },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      // The watch may have reported the write already (and retired it).
      if (this.writes.get(key) === write) write.resourceVersion = patched.metadata?.resourceVersion;
    } catch (error) {
      if (this.writes.get(key) === write) this.writes.delete(key);
      throw new ProgrammedMarkError(key, marked, error instanceof Error ? error : new Error(String(error)));
    }
  }

  /**
   * Feeds a pod watch event in. Returns true when the event is exactly our own mark write, which
   * needs no render.
   */
  observe(type: 'add' | 'update' | 'delete', pod: V1Pod): boolean {
    const key = podKey(pod);
    const write = this.writes.get(key);
    if (write === undefined) return false;
    if (type === 'delete') {
      this.writes.delete(key);
      return false;
    }
    if (write.resourceVersion !== undefined && pod.metadata?.resourceVersion === write.resourceVersion) {
      this.writes.delete(key);
      return true;
    }
    // The cache has caught up (e.g. the event came before the PATCH response).
    if (annotated(pod) === write.marked) this.writes.delete(key);
    return false;
  }

  clear(): void {
    this.writes.clear();
  }
}
