/**
 * A deliberately small JSON Schema checker for tests (no ajv in this repo): it understands the
 * keywords the generated config schema uses and reports the JSON pointer of every mismatch.
 */
type Schema = Record<string, unknown>;

const isObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

function typeMatches(type: string, value: unknown): boolean {
  switch (type) {
    case 'object':
      return isObject(value);
    case 'array':
      return Array.isArray(value);
    case 'integer':
      return Number.isInteger(value);
    case 'number':
      return typeof value === 'number';
    case 'null':
      return value === null;
    default:
      return typeof value === type;
  }
}

export function validateAgainst(root: Schema, value: unknown): string[] {
  const errors: string[] = [];
  const check = (schema: unknown, v: unknown, at: string): void => {
    if (!isObject(schema)) return;
    if (typeof schema.$ref === 'string') {
      const name = schema.$ref.replace('#/$defs/', '');
      const defs = isObject(root.$defs) ? root.$defs : {};
      check(defs[name], v, at);
    }
    if (typeof schema.type === 'string' && !typeMatches(schema.type, v)) {
      errors.push(`${at}: expected ${schema.type}`);
      return;
    }
    if ('const' in schema && schema.const !== v)
      errors.push(`${at}: expected ${JSON.stringify(schema.const)}`);
    if (Array.isArray(schema.enum) && !schema.enum.includes(v)) errors.push(`${at}: not in enum`);
    if (typeof v === 'number') {
      if (typeof schema.minimum === 'number' && v < schema.minimum)
        errors.push(`${at}: below ${schema.minimum}`);
      if (typeof schema.maximum === 'number' && v > schema.maximum)
        errors.push(`${at}: above ${schema.maximum}`);
    }
    if (typeof v === 'string') {
      if (typeof schema.pattern === 'string' && !new RegExp(schema.pattern, 'u').test(v))
        errors.push(`${at}: pattern`);
      if (typeof schema.minLength === 'number' && v.length < schema.minLength)
        errors.push(`${at}: too short`);
    }
    const branches = (list: unknown) =>
      (Array.isArray(list) ? list : []).map((s) => {
        const saved = errors.length;
        check(s, v, at);
        return errors.splice(saved).length === 0;
      });
    if (Array.isArray(schema.anyOf) && !branches(schema.anyOf).some(Boolean))
      errors.push(`${at}: no anyOf branch matches`);
    if (Array.isArray(schema.oneOf) && branches(schema.oneOf).filter(Boolean).length !== 1) {
      errors.push(`${at}: not exactly one oneOf branch matches`);
    }
    if (isObject(v)) {
      if (typeof schema.maxProperties === 'number' && Object.keys(v).length > schema.maxProperties)
        errors.push(`${at}: too many properties`);
      for (const key of Array.isArray(schema.required) ? (schema.required as string[]) : []) {
        if (!(key in v)) errors.push(`${at}/${key}: required`);
      }
      const properties = isObject(schema.properties) ? schema.properties : {};
      for (const [key, child] of Object.entries(v)) {
        if (key in properties) check(properties[key], child, `${at}/${key}`);
        else if (schema.additionalProperties === false) errors.push(`${at}/${key}: not allowed`);
      }
    }
    if (Array.isArray(v) && isObject(schema.items))
      v.forEach((item, i) => check(schema.items, item, `${at}/${i}`));
  };
  check(root, value, '');
  return errors;
}
