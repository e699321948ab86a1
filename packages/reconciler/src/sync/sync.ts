import type { ConfigDocument } from '@l7mp/config';
import type { OwnedConfig } from '../render/types';
import { ProxyRequestError, type ProxyClient } from './client';
import { mergeOwnedConfig, sameConfig, type MergeProblem } from './merge';

export interface SyncOptions {
  /**
   * What the proxy ran after the last sync. When given the GET is skipped, so a change costs one
   * call; leave it out to read the proxy first (periodic resyncs, pod events, after errors).
   */
  readonly known?: ConfigDocument;
  /** Canonical names of the resources on this proxy, to name the culprit of a rejected PUT. */
  readonly resources?: readonly string[];
}

export interface SyncResult {
  /** `unchanged`: the proxy already ran the desired config; `applied`: a PUT changed it. */
  readonly outcome: 'unchanged' | 'applied';
  /** The config the proxy runs now. */
  readonly document: ConfigDocument;
  /** Owned objects left out: not convertible, or rejected by the proxy. */
  readonly problems: MergeProblem[];
  readonly calls: number;
}

/**
 * The resources whose names the proxy's error message mentions: the name itself or one of the
 * objects generated from it (`<name>-RuleList-0`, `<name>/<podIP>` ...), not a longer name.
 */
function culprits(message: string, resources: readonly string[]): string[] {
  return resources.filter((r) => {
    const escaped = r.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    return new RegExp(`${escaped}(?![a-z0-9.]|-[a-z0-9])`).test(message);
  });
}

function withoutResources(owned: OwnedConfig, excluded: Set<string>): OwnedConfig {
  return {
    listeners: owned.listeners.filter((l) => !excluded.has(l.name ?? '')),
    clusters: owned.clusters.filter((c) => !excluded.has(c.name ?? '')),
    rules: owned.rules.filter((r) => !excluded.has(r.rule.name ?? '')),
  };
}

/**
 * Makes one proxy run its desired owned config: read what it runs (unless known), merge the owned
 * part in, and PUT the whole document only when it differs. When the proxy rejects the document
 * and its message names some of the resources, the PUT is retried once without them, so one
 * resource the proxy cannot run does not keep the others off it.
 */
export async function syncProxy(
  client: ProxyClient,
  owned: OwnedConfig,
  options: SyncOptions = {},
): Promise<SyncResult> {
  const before = client.calls;
  const current = options.known ?? (await client.getConfig());
  let merged = mergeOwnedConfig(current, owned);
  if (sameConfig(merged.document, current)) {
    return {
      outcome: 'unchanged',
      document: current,
      problems: merged.problems,
      calls: client.calls - before,
    };
  }
  try {
    await client.putConfig(merged.document);
  } catch (error) {
    if (!(error instanceof ProxyRequestError) || error.status !== 400) throw error;
    const bad = culprits(error.content, options.resources ?? []);
    if (bad.length === 0) throw error;
    const excluded = new Set(bad);
    const problems = bad.map((resource) => ({
      resource,
      message: `rejected by the proxy: ${error.content}`,
    }));
    merged = mergeOwnedConfig(current, withoutResources(owned, excluded));
    problems.push(...merged.problems);
    if (!sameConfig(merged.document, current)) await client.putConfig(merged.document);
    return { outcome: 'applied', document: merged.document, problems, calls: client.calls - before };
  }
  return {
    outcome: 'applied',
    document: merged.document,
    problems: merged.problems,
    calls: client.calls - before,
  };
}
