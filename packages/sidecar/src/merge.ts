/** The sections of a config document that are lists of named objects. */
const NAMED_SECTIONS = ['listeners', 'clusters', 'routes', 'rules', 'rulelists'] as const;

type Document = Record<string, unknown>;

function isRecord(value: unknown): value is Document {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function nameOf(item: unknown): string | undefined {
  return isRecord(item) && typeof item.name === 'string' ? item.name : undefined;
}

/**
 * A role's default config with an extra static config on top: `admin` settings of the extra
 * config win, its objects are appended, and an object named like a default one replaces it (so
 * a `-c` file can move the API listener, for example).
 */
export function mergeConfigs(base: Document, extra: unknown): Document {
  if (!isRecord(extra)) return base;
  const merged: Document = { ...base, ...extra };
  if (isRecord(base.admin) || isRecord(extra.admin)) {
    merged.admin = {
      ...(isRecord(base.admin) ? base.admin : {}),
      ...(isRecord(extra.admin) ? extra.admin : {}),
    };
  }
  for (const section of NAMED_SECTIONS) {
    const defaults = Array.isArray(base[section]) ? (base[section] as unknown[]) : [];
    const added = Array.isArray(extra[section]) ? (extra[section] as unknown[]) : [];
    if (defaults.length === 0 && added.length === 0) continue;
    const replaced = new Set(added.map(nameOf).filter((name) => name !== undefined));
    merged[section] = [...defaults.filter((item) => !replaced.has(nameOf(item) ?? '')), ...added];
  }
  return merged;
}
