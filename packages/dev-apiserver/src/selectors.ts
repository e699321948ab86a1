/** One requirement of a label selector (`labelSelector=` query parameter). */
export interface LabelRequirement {
  readonly key: string;
  readonly op: 'in' | 'notin' | 'exists' | 'notexists';
  readonly values: readonly string[];
}

/** A malformed label or field selector; answered with 400 BadRequest. */
export class SelectorSyntaxError extends Error {
  constructor(selector: string, reason: string) {
    super(`invalid selector ${JSON.stringify(selector)}: ${reason}`);
    this.name = 'SelectorSyntaxError';
  }
}

/** Splits at commas that are not inside parentheses. */
function splitTerms(selector: string): string[] {
  const terms: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of selector) {
    if (ch === '(') depth += 1;
    if (ch === ')') depth -= 1;
    if (ch === ',' && depth === 0) {
      terms.push(current);
      current = '';
    } else current += ch;
  }
  terms.push(current);
  return terms.map((t) => t.trim()).filter((t) => t !== '');
}

/** Parses `a=b,c!=d,e in (x,y),f notin (z),g,!h`. */
export function parseLabelSelector(selector: string): LabelRequirement[] {
  return splitTerms(selector).map((term) => {
    let m = /^([^\s=!(),]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term);
    if (m !== null) {
      const values = (m[3] ?? '')
        .split(',')
        .map((v) => v.trim())
        .filter((v) => v !== '');
      return { key: m[1] ?? '', op: m[2] === 'in' ? 'in' : 'notin', values };
    }
    m = /^([^\s=!(),]+)\s*(==|=|!=)\s*([^\s=!(),]*)$/.exec(term);
    if (m !== null) return { key: m[1] ?? '', op: m[2] === '!=' ? 'notin' : 'in', values: [m[3] ?? ''] };
    m = /^(!?)([^\s=!(),]+)$/.exec(term);
    if (m !== null) return { key: m[2] ?? '', op: m[1] === '!' ? 'notexists' : 'exists', values: [] };
    throw new SelectorSyntaxError(selector, `cannot parse ${JSON.stringify(term)}`);
  });
}

export function labelsMatch(
  requirements: readonly LabelRequirement[],
  labels: Record<string, string>,
): boolean {
  return requirements.every((r) => {
    const value = labels[r.key];
    switch (r.op) {
      case 'in':
        return value !== undefined && r.values.includes(value);
      case 'notin':
        return value === undefined || !r.values.includes(value);
      case 'exists':
        return value !== undefined;
      case 'notexists':
        return value === undefined;
    }
  });
}

export interface FieldRequirement {
  readonly field: string;
  readonly equal: boolean;
  readonly value: string;
}

const SUPPORTED_FIELDS = ['metadata.name', 'metadata.namespace'];

/** Parses `metadata.name=x,metadata.namespace!=y` (only these two fields are supported). */
export function parseFieldSelector(selector: string): FieldRequirement[] {
  return splitTerms(selector).map((term) => {
    const m = /^([^\s=!]+)\s*(==|=|!=)\s*(\S*)$/.exec(term);
    if (m === null) throw new SelectorSyntaxError(selector, `cannot parse ${JSON.stringify(term)}`);
    const field = m[1] ?? '';
    if (!SUPPORTED_FIELDS.includes(field)) {
      throw new SelectorSyntaxError(
        selector,
        `field "${field}" is not supported (only ${SUPPORTED_FIELDS.join(', ')})`,
      );
    }
    return { field, equal: m[2] !== '!=', value: m[3] ?? '' };
  });
}

export function fieldsMatch(
  requirements: readonly FieldRequirement[],
  metadata: { name?: string; namespace?: string },
): boolean {
  return requirements.every((r) => {
    const actual = r.field === 'metadata.name' ? metadata.name : metadata.namespace;
    return (actual === r.value) === r.equal;
  });
}
