import { ConfigValidationError, dedupeIssues, fromZodIssues, type ConfigIssue } from './errors';
import { duplicateNameIssues, NameRegistry, normaliseConfig, type FlatConfig } from './normalise';
import { ConfigSchema } from './schema/objects';

/**
 * Every problem of a static proxy config or `PUT /api/v1/config` body: schema violations and
 * duplicate names together, so a user fixes them in one round.
 */
export function validateConfig(input: unknown): ConfigIssue[] {
  const result = ConfigSchema.safeParse(input, { reportInput: true });
  const schemaIssues = result.success ? [] : fromZodIssues(result.error.issues);
  return dedupeIssues([...schemaIssues, ...duplicateNameIssues(input)]);
}

/**
 * Validates a whole config and flattens it into named objects; throws a ConfigValidationError
 * listing every problem.
 */
export function parseAndNormaliseConfig(
  input: unknown,
  names: NameRegistry = new NameRegistry(),
  context?: string,
): FlatConfig {
  const result = ConfigSchema.safeParse(input, { reportInput: true });
  if (!result.success) {
    const issues = [...fromZodIssues(result.error.issues), ...duplicateNameIssues(input)];
    throw new ConfigValidationError(dedupeIssues(issues), context);
  }
  try {
    return normaliseConfig(result.data, names);
  } catch (e) {
    if (e instanceof ConfigValidationError && context !== undefined) throw e.prefixed([], context);
    throw e;
  }
}
