import type { FlatAction } from '@l7mp/config';
import { L7mpError, NotFoundError } from '../errors';
import type { ObjectStore } from '../store/entries';
import type { SessionMetadata } from '../transport/types';

/** A RuleList reached itself again through `apply` actions during one lookup. */
export class RuleLoopError extends L7mpError {
  readonly cycle: readonly string[];

  constructor(cycle: readonly string[]) {
    super(`Rule lookup loop: RuleList ${cycle.map((name) => `"${name}"`).join(' -> ')}`, { status: 508 });
    this.cycle = cycle;
  }
}

export interface LookupMatch {
  /** The RuleList and rule whose action was taken (after following `apply`). */
  readonly rulelist: string;
  readonly rule: string;
  readonly action: FlatAction;
}

/**
 * Anchor §4.3: evaluates the RuleList's rules in order; the first match wins. An `apply` action
 * continues in the named RuleList (taking precedence over `route`, and the outer rule's rewrites
 * are not applied). A missing RuleList or rule aborts the lookup. Unlike the anchor, a RuleList
 * that is applied a second time in the same lookup is reported instead of recursing forever.
 * Returns undefined when no rule matches.
 */
export function lookupRoute(
  store: ObjectStore,
  rulelistName: string,
  metadata: SessionMetadata,
): LookupMatch | undefined {
  const visited: string[] = [];
  let current = rulelistName;
  for (;;) {
    if (visited.includes(current)) throw new RuleLoopError([...visited, current]);
    visited.push(current);
    const rulelist = store.rulelists.get(current);
    if (rulelist === undefined) throw new NotFoundError(`Cannot find RuleList "${current}"`);
    let next: string | undefined;
    let found: LookupMatch | undefined;
    for (const ruleName of rulelist.rules) {
      const rule = store.rules.get(ruleName);
      if (rule === undefined) {
        throw new NotFoundError(`Cannot find named rule "${ruleName}" in RuleList "${current}"`);
      }
      if (!rule.test(metadata)) continue;
      rule.applied++;
      if (rule.action.apply !== undefined) next = rule.action.apply;
      else found = { rulelist: current, rule: ruleName, action: rule.action };
      break;
    }
    if (next === undefined) return found;
    current = next;
  }
}
