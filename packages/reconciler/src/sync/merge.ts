import {
  dumpFlatConfig,
  NameRegistry,
  normaliseConfig,
  parseConfig,
  type ConfigDocument,
  type RuleDocument,
} from '@l7mp/config';
import type { OwnedConfig } from '../render/types';

/** Prefix of every proxy object the operator owns (a canonical resource name). */
export const OWNED_PREFIX = '/l7mp.io/v1/';

/** Whether the operator owns a proxy object of this name (it manages and may delete it). */
export function isOwnedName(name: unknown): boolean {
  return typeof name === 'string' && name.startsWith(OWNED_PREFIX);
}

/** An owned object that could not be put on the proxy, named by its resource. */
export interface MergeProblem {
  readonly resource: string;
  readonly message: string;
}

export interface MergeResult {
  readonly document: ConfigDocument;
  readonly problems: MergeProblem[];
}

type Kind = 'listeners' | 'clusters' | 'rulelists' | 'rules' | 'routes';
const KINDS: readonly Kind[] = ['listeners', 'clusters', 'rulelists', 'rules', 'routes'];

/** The resource an owned proxy object was made from: `/l7mp.io/v1/<Kind>/<ns>/<name>`. */
export function resourceOfObject(name: string): string {
  const parts = name.split('/');
  // ['', 'l7mp.io', 'v1', Kind, ns, name...]: generated suffixes hang off the last part.
  const base = parts.slice(0, 6).join('/');
  return base.replace(/-(RuleList|Rule|Route|Cluster|EndPoint)-\d+.*$/, '');
}

// Normalising an object is pure and the same objects come back on every sync: remember results.
const NORMALISED_LIMIT = 20_000;
const normalised = new Map<string, ConfigDocument>();
function normaliseDocument(input: Record<string, unknown>): ConfigDocument {
  const key = JSON.stringify(input);
  const hit = normalised.get(key);
  if (hit !== undefined) return hit;
  const doc = dumpFlatConfig(normaliseConfig(parseConfig(input), new NameRegistry()));
  if (normalised.size >= NORMALISED_LIMIT) normalised.clear();
  normalised.set(key, doc);
  return doc;
}

const nameOf = (item: unknown): string | undefined =>
  typeof item === 'string'
    ? item
    : item !== null && typeof item === 'object'
      ? (item as { name?: string }).name
      : undefined;

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * The config document the proxy should run: everything the proxy reports that the operator does
 * not own, verbatim, plus the owned objects in the proxy's flat form (every object top-level under
 * its name), and each Rule inserted into its rulelist at its position. Objects that cannot be
 * converted are left out and reported as problems, so one bad resource does not block the rest.
 */
export function mergeOwnedConfig(current: ConfigDocument, owned: OwnedConfig): MergeResult {
  const problems: MergeProblem[] = [];
  const doc: ConfigDocument = { listeners: [], clusters: [], rulelists: [], rules: [], routes: [] };
  const add = (part: ConfigDocument) => {
    for (const kind of KINDS) (doc[kind] as unknown[]).push(...(part[kind] as unknown[]));
  };

  for (const kind of KINDS) {
    for (const item of (current[kind] ?? []) as unknown[]) {
      if (isOwnedName(nameOf(item))) continue;
      if (kind === 'rulelists') {
        const rl = item as ConfigDocument['rulelists'][number];
        doc.rulelists.push({ ...rl, rules: rl.rules.filter((r) => !isOwnedName(nameOf(r))) });
      } else if (kind === 'listeners') {
        const { bound: _bound, ...listener } = item as ConfigDocument['listeners'][number] & {
          bound?: unknown;
        };
        doc.listeners.push(listener);
      } else {
        (doc[kind] as unknown[]).push(item);
      }
    }
  }

  for (const listener of owned.listeners) {
    try {
      add(normaliseDocument({ listeners: [listener] }));
    } catch (error) {
      problems.push({ resource: listener.name ?? '', message: messageOf(error) });
    }
  }
  for (const cluster of owned.clusters) {
    try {
      add(normaliseDocument({ clusters: [cluster] }));
    } catch (error) {
      problems.push({ resource: cluster.name ?? '', message: messageOf(error) });
    }
  }

  const rules = [...owned.rules].sort((a, b) =>
    a.rulelist !== b.rulelist
      ? a.rulelist < b.rulelist
        ? -1
        : 1
      : a.position !== b.position
        ? a.position - b.position
        : (a.rule.name ?? '') < (b.rule.name ?? '')
          ? -1
          : 1,
  );
  for (const { rulelist, position, rule } of rules) {
    const resource = rule.name ?? '';
    const list = doc.rulelists.find((rl) => rl.name === rulelist);
    if (list === undefined) {
      problems.push({
        resource,
        message: `rulelist ${JSON.stringify(rulelist)} does not exist on the proxy`,
      });
      continue;
    }
    let part: ConfigDocument;
    try {
      part = normaliseDocument({ rules: [rule] });
    } catch (error) {
      problems.push({ resource, message: messageOf(error) });
      continue;
    }
    add(part);
    const rules = [...list.rules] as (string | RuleDocument)[];
    rules.splice(Math.min(position, rules.length), 0, resource);
    list.rules = rules;
  }
  return { document: doc, problems };
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([k, v]) => v !== undefined && k !== 'bound')
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function keyed(doc: ConfigDocument, kind: Kind): Map<string, string> {
  const out = new Map<string, string>();
  for (const item of (doc[kind] ?? []) as unknown[]) {
    let value = item;
    if (kind === 'clusters') {
      // Endpoints are a set: the proxy keeps them in the order they were added.
      const cluster = item as ConfigDocument['clusters'][number];
      value = { ...cluster, endpoints: [...cluster.endpoints].sort((a, b) => (a.name < b.name ? -1 : 1)) };
    }
    out.set(nameOf(item) ?? '', canonicalJson(value));
  }
  return out;
}

/** Whether two config documents describe the same objects (order of objects and endpoints ignored). */
export function sameConfig(a: ConfigDocument, b: ConfigDocument): boolean {
  // Different object counts (every cold sync) need no canonical form of every object.
  for (const kind of KINDS) if ((a[kind] ?? []).length !== (b[kind] ?? []).length) return false;
  for (const kind of KINDS) {
    const left = keyed(a, kind);
    const right = keyed(b, kind);
    if (left.size !== right.size) return false;
    for (const [name, value] of left) if (right.get(name) !== value) return false;
  }
  return true;
}
