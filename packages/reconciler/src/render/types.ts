import type { V1Endpoints, V1Pod } from '@kubernetes/client-node';
import type { CrdKind, ProxyCluster, ProxyListener, ProxyRule } from '@l7mp/config';

/** Everything the renderer looks at: the watched objects as the API server returns them. */
export interface ClusterSnapshot {
  readonly pods: readonly V1Pod[];
  /** core/v1 Endpoints, for matchService. */
  readonly endpoints: readonly V1Endpoints[];
  /** Raw custom resources (validated by the renderer). */
  readonly virtualServices: readonly unknown[];
  readonly targets: readonly unknown[];
  readonly rules: readonly unknown[];
}

export interface RenderOptions {
  /** Port of the proxies' REST API when the pod has no l7mp.io/api-address annotation (default 1234). */
  readonly apiPort?: number;
  /** Reuses validation results of unchanged resources across renders. */
  readonly cache?: RenderCache;
}

/** A Rule resource rendered for one proxy: the rule goes into `rulelist` at `position`. */
export interface OwnedRule {
  readonly rulelist: string;
  readonly position: number;
  readonly rule: ProxyRule;
}

/** The part of a proxy's config the operator owns (all names start with `/l7mp.io/v1/`). */
export interface OwnedConfig {
  readonly listeners: ProxyListener[];
  readonly clusters: ProxyCluster[];
  readonly rules: OwnedRule[];
}

export interface ProxyDesiredConfig {
  /** `<namespace>/<pod name>`. */
  readonly key: string;
  readonly namespace: string;
  readonly name: string;
  readonly uid: string | undefined;
  readonly podIP: string;
  /** Base URL of the proxy's REST API, e.g. `http://10.0.0.5:1234`. */
  readonly address: string;
  readonly owned: OwnedConfig;
  /** Canonical names of the resources that put something on this proxy, sorted. */
  readonly resources: string[];
}

export type VerdictReason =
  'Accepted' | 'Invalid' | 'InvalidReference' | 'LinkedVirtualServiceNotFound' | 'NoSelector';

/** What the renderer decided about one custom resource. */
export interface ResourceVerdict {
  readonly kind: CrdKind;
  readonly namespace: string;
  readonly name: string;
  /** `/l7mp.io/v1/<Kind>/<namespace>/<name>`. */
  readonly canonicalName: string;
  readonly uid: string | undefined;
  readonly generation: number | undefined;
  readonly accepted: boolean;
  readonly reason: VerdictReason;
  readonly message: string;
  /** Keys of the proxies that should run this resource. */
  readonly proxies: string[];
  /** Per-proxy problems found while rendering (e.g. a port another resource already uses). */
  readonly problems: { proxy: string; message: string }[];
}

export interface DesiredState {
  /** By proxy key `<namespace>/<pod name>`. */
  readonly proxies: Map<string, ProxyDesiredConfig>;
  /** By canonical resource name. */
  readonly resources: Map<string, ResourceVerdict>;
}

/** Validation results of resources by uid+resourceVersion, so an unchanged resource is parsed once. */
export class RenderCache {
  private readonly entries = new Map<string, unknown>();

  get<T>(key: string, compute: () => T): T {
    if (this.entries.has(key)) return this.entries.get(key) as T;
    const value = compute();
    this.entries.set(key, value);
    return value;
  }

  /** Drops entries not used since the last prune; call once per render. */
  retainOnly(keys: Set<string>): void {
    for (const key of this.entries.keys()) if (!keys.has(key)) this.entries.delete(key);
  }
}
