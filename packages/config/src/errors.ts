import type { z } from 'zod';

export type ObjectPath = readonly (string | number)[];

/** One problem found in a config, REST body or manifest. */
export interface ConfigIssue {
  /** Where the problem is, as keys and indices from the root of the checked document. */
  readonly path: ObjectPath;
  /** Why it is a problem. */
  readonly message: string;
}

/** Renders an object path the way users write it: `listeners[1].spec.port`. */
export function formatPath(path: ObjectPath): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (/^[A-Za-z_$][\w$-]*$/.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

export function formatIssue(issue: ConfigIssue): string {
  const where = formatPath(issue.path);
  return where === '' ? issue.message : `${where}: ${issue.message}`;
}

/** Thrown when input does not validate; carries every problem at once. */
export class ConfigValidationError extends Error {
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[], context?: string) {
    const lines = issues.map(formatIssue);
    super(
      `${context ? `${context}: ` : ''}${lines.length === 1 ? lines[0] : `${lines.length} problems:\n  ${lines.join('\n  ')}`}`,
    );
    this.name = 'ConfigValidationError';
    this.issues = issues;
  }

  /** The same error with every path prefixed, e.g. to place a listener inside a config. */
  prefixed(prefix: ObjectPath, context?: string): ConfigValidationError {
    return new ConfigValidationError(
      this.issues.map((i) => ({ path: [...prefix, ...i.path], message: i.message })),
      context,
    );
  }
}

/** Converts zod issues to ours, flattening union branches into the most useful message. */
export function fromZodIssues(issues: readonly z.core.$ZodIssue[], prefix: ObjectPath = []): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const issue of issues) {
    const path = [...prefix, ...(issue.path as (string | number)[])];
    const branch = issue.code === 'invalid_union' ? relevantBranch(issue.errors) : undefined;
    if (branch !== undefined) out.push(...fromZodIssues(branch, path));
    else out.push({ path, message: zodMessage(issue) });
  }
  return dedupeIssues(out);
}

/**
 * A union such as "a cluster name or an inline cluster" fails in every branch. The branch worth
 * reporting is the one whose type matched the input (it failed deeper down); a branch that
 * failed only because the input had another type says nothing useful.
 */
function relevantBranch(
  branches: readonly (readonly z.core.$ZodIssue[])[],
): readonly z.core.$ZodIssue[] | undefined {
  const typeMatched = branches.filter(
    (issues) => !(issues.length === 1 && issues[0]?.code === 'invalid_type' && issues[0].path.length === 0),
  );
  return typeMatched.length === 1 ? typeMatched[0] : undefined;
}

function zodMessage(issue: z.core.$ZodIssue): string {
  const input = (issue as { input?: unknown }).input;
  switch (issue.code) {
    case 'invalid_type':
      if (input === undefined) return 'required';
      if (issue.message.startsWith('Invalid input'))
        return `expected ${article(issue.expected)}, got ${describe(input)}`;
      return issue.message;
    case 'unrecognized_keys':
      return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}`;
    default:
      return issue.message;
  }
}

function article(expected: string): string {
  if (expected === 'object') return 'an object';
  if (expected === 'array') return 'a list';
  if (expected === 'int') return 'an integer';
  return /^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`;
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'object') return 'an object';
  return String(value);
}

/** Drops repeated issues (same path and message), keeping the first. */
export function dedupeIssues(issues: readonly ConfigIssue[]): ConfigIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const key = formatIssue(i);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
