/** A column of `kubectl get` output, as a CRD's `additionalPrinterColumns` declares it. */
export interface PrinterColumn {
  readonly name: string;
  readonly type: string;
  readonly jsonPath: string;
  readonly description?: string;
  readonly priority?: number;
  readonly format?: string;
}

/** A printer column's JSONPath that uses more than the subset this server evaluates. */
export class JsonPathError extends Error {
  constructor(path: string, reason: string) {
    super(`unsupported JSONPath ${JSON.stringify(path)}: ${reason}`);
    this.name = 'JsonPathError';
  }
}

type Step =
  | { readonly kind: 'field'; readonly name: string }
  | { readonly kind: 'index'; readonly index: number }
  | { readonly kind: 'filter'; readonly field: string; readonly equals: string };

const isRecord = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * Parses the JSONPath subset printer columns use: `.a.b`, `[0]`, `['a']` and the filter
 * `[?(@.type=="Ready")]`. Anything else is rejected so a column never silently shows nothing.
 */
export function parseJsonPath(path: string): Step[] {
  const text = path
    .trim()
    .replace(/^\{(.*)\}$/, '$1')
    .replace(/^\$/, '');
  const steps: Step[] = [];
  let rest = text;
  while (rest !== '') {
    let m: RegExpExecArray | null;
    if ((m = /^\.([A-Za-z0-9_-]+)/.exec(rest)) !== null) {
      steps.push({ kind: 'field', name: m[1] ?? '' });
    } else if ((m = /^\[(\d+)\]/.exec(rest)) !== null) {
      steps.push({ kind: 'index', index: Number(m[1]) });
    } else if ((m = /^\[['"]([^'"]+)['"]\]/.exec(rest)) !== null) {
      steps.push({ kind: 'field', name: m[1] ?? '' });
    } else if ((m = /^\[\?\(@\.([A-Za-z0-9_.-]+)\s*==\s*(?:"([^"]*)"|'([^']*)')\)\]/.exec(rest)) !== null) {
      steps.push({ kind: 'filter', field: m[1] ?? '', equals: m[2] ?? m[3] ?? '' });
    } else {
      throw new JsonPathError(path, `cannot parse at ${JSON.stringify(rest)}`);
    }
    rest = rest.slice(m[0].length);
  }
  return steps;
}

const fieldOf = (value: unknown, dotted: string): unknown =>
  dotted.split('.').reduce<unknown>((v, key) => (isRecord(v) ? v[key] : undefined), value);

/** Every value the path selects (a filter may select several). */
export function evaluateJsonPath(steps: readonly Step[], root: unknown): unknown[] {
  let current: unknown[] = [root];
  for (const step of steps) {
    const next: unknown[] = [];
    for (const value of current) {
      if (step.kind === 'field') {
        if (isRecord(value) && value[step.name] !== undefined) next.push(value[step.name]);
      } else if (step.kind === 'index') {
        if (Array.isArray(value) && step.index < value.length) next.push(value[step.index]);
      } else if (Array.isArray(value)) {
        for (const item of value) if (String(fieldOf(item, step.field)) === step.equals) next.push(item);
      }
    }
    current = next;
  }
  return current;
}

/** Kubernetes' short age format (`45s`, `3m12s`, `5h`, `2d3h`). */
export function humanAge(fromIso: string, now = Date.now()): string {
  const started = Date.parse(fromIso);
  if (Number.isNaN(started)) return '<unknown>';
  const seconds = Math.max(0, Math.floor((now - started) / 1000));
  const minutes = Math.floor(seconds / 60);
  const hours = Math.floor(minutes / 60);
  const days = Math.floor(hours / 24);
  if (seconds < 120) return `${seconds}s`;
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  if (hours < 192) return hours % 24 === 0 ? `${days}d` : `${days}d${hours % 24}h`;
  return `${days}d`;
}

function cellOf(column: PrinterColumn, steps: readonly Step[], object: unknown, now: number): unknown {
  const values = evaluateJsonPath(steps, object);
  if (values.length === 0) return null;
  const value = values.length === 1 ? values[0] : values;
  if (column.type === 'date') return typeof value === 'string' ? humanAge(value, now) : null;
  if (column.type === 'integer' || column.type === 'number' || column.type === 'boolean') return value;
  return typeof value === 'string' ? value : JSON.stringify(value);
}

const AGE: PrinterColumn = {
  name: 'Age',
  type: 'date',
  jsonPath: '.metadata.creationTimestamp',
  description: 'Time since the object was created',
};

/** The columns of kinds without printer columns of their own: Name and Age, as kubectl prints them. */
export const DEFAULT_COLUMNS: readonly PrinterColumn[] = [AGE];

interface PodLike {
  spec?: { containers?: unknown[] };
  status?: {
    phase?: string;
    podIP?: string;
    containerStatuses?: { ready?: boolean; restartCount?: number }[];
  };
}

/** The pod columns `kubectl get pods` (and `-o wide`) shows, computed the way the real server does. */
function podCells(pod: PodLike, now: number, createdAt: string): unknown[] {
  const statuses = pod.status?.containerStatuses ?? [];
  const total = pod.spec?.containers?.length ?? statuses.length;
  const ready = statuses.filter((s) => s.ready === true).length;
  const restarts = statuses.reduce((sum, s) => sum + (s.restartCount ?? 0), 0);
  return [
    `${ready}/${total}`,
    pod.status?.phase ?? 'Pending',
    restarts,
    humanAge(createdAt, now),
    pod.status?.podIP ?? '<none>',
  ];
}

const POD_COLUMNS = [
  { name: 'Ready', type: 'string', description: 'Ready containers / all containers', priority: 0 },
  { name: 'Status', type: 'string', description: 'The pod phase', priority: 0 },
  { name: 'Restarts', type: 'integer', description: 'Container restarts', priority: 0 },
  { name: 'Age', type: 'string', description: 'Time since the pod was created', priority: 0 },
  { name: 'IP', type: 'string', description: 'The pod IP', priority: 1 },
];

interface TableObject {
  metadata: { name?: string; creationTimestamp?: string };
}

/**
 * A `meta.k8s.io/v1` Table of `objects`, as `kubectl get` asks for it (Accept: …;as=Table). Each
 * row carries the whole object, so kubectl can print namespaces and labels from it.
 */
export function buildTable(
  kind: string,
  columns: readonly PrinterColumn[],
  objects: readonly TableObject[],
  resourceVersion: string,
  now = Date.now(),
): Record<string, unknown> {
  const nameColumn = {
    name: 'Name',
    type: 'string',
    format: 'name',
    description: 'Name of the object',
    priority: 0,
  };
  if (kind === 'Pod') {
    return {
      kind: 'Table',
      apiVersion: 'meta.k8s.io/v1',
      metadata: { resourceVersion },
      columnDefinitions: [nameColumn, ...POD_COLUMNS.map((c) => ({ ...c, format: '' }))],
      rows: objects.map((o) => ({
        cells: [o.metadata.name ?? '', ...podCells(o as PodLike, now, o.metadata.creationTimestamp ?? '')],
        object: o,
      })),
    };
  }
  const parsed = columns.map((c) => ({ column: c, steps: parseJsonPath(c.jsonPath) }));
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { resourceVersion },
    columnDefinitions: [
      nameColumn,
      ...columns.map((c) => ({
        name: c.name,
        type: c.type,
        format: c.format ?? '',
        description: c.description ?? '',
        priority: c.priority ?? 0,
      })),
    ],
    rows: objects.map((o) => ({
      cells: [o.metadata.name ?? '', ...parsed.map((p) => cellOf(p.column, p.steps, o, now))],
      object: o,
    })),
  };
}

/** Whether an Accept header asks for the Table form (kubectl get does; clients and informers do not). */
export function wantsTable(accept: string | undefined): boolean {
  return accept !== undefined && /as=Table/.test(accept) && /g=meta\.k8s\.io/.test(accept);
}
