import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';

export const CHARTS_DIR = path.resolve(__dirname, '..', '..', 'charts');

const ACTION = /\{\{-?[\s\S]*?-?\}\}/g;

/**
 * A template with its Go-template actions neutralised, so plain YAML can be checked: lines that
 * hold only actions (if/range/end/include … | nindent) are dropped, every other action becomes a
 * numbered placeholder scalar (numbered so keys made by different branches stay distinct).
 */
export function withPlaceholders(template: string): string {
  let counter = 0;
  return template
    .split('\n')
    .filter((line) => line.replace(ACTION, '').trim() !== '' || line.trim() === '')
    .map((line) => line.replace(ACTION, () => `PLACEHOLDER_${++counter}`))
    .join('\n');
}

export type Manifest = Record<string, unknown> & { kind?: string };

/** Parses a template (placeholders in) into its YAML documents; throws on any YAML error. */
export function templateDocuments(file: string): Manifest[] {
  const text = withPlaceholders(readFileSync(file, 'utf8'));
  const documents = parseAllDocuments(text, { uniqueKeys: true });
  if (!Array.isArray(documents)) throw new Error(`${file}: not YAML`);
  const manifests: Manifest[] = [];
  for (const document of documents) {
    if (document.errors.length > 0) {
      throw new Error(`${file}: ${document.errors.map((error) => error.message).join('; ')}\n${text}`);
    }
    const value: unknown = document.toJS();
    if (value !== null && value !== undefined) manifests.push(value as Manifest);
  }
  return manifests;
}

export function templateFiles(chart: string): string[] {
  const dir = path.join(CHARTS_DIR, chart, 'templates');
  return readdirSync(dir)
    .filter((name) => name.endsWith('.yaml'))
    .map((name) => path.join(dir, name));
}

export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

/** The rules of every Role/ClusterRole of a template file, by kind. */
export function rbacRules(file: string): { clusterRole: PolicyRule[]; role: PolicyRule[] } {
  const result = { clusterRole: [] as PolicyRule[], role: [] as PolicyRule[] };
  for (const manifest of templateDocuments(file)) {
    const rules = (manifest.rules ?? []) as PolicyRule[];
    if (manifest.kind === 'ClusterRole') result.clusterRole.push(...rules);
    if (manifest.kind === 'Role') result.role.push(...rules);
  }
  return result;
}

/** RBAC's match: does any rule grant `verb` on `resource` (maybe `plural/subresource`) in `group`? */
export function allows(rules: readonly PolicyRule[], group: string, resource: string, verb: string): boolean {
  return rules.some(
    (rule) =>
      (rule.apiGroups.includes(group) || rule.apiGroups.includes('*')) &&
      (rule.resources.includes(resource) || rule.resources.includes('*')) &&
      (rule.verbs.includes(verb) || rule.verbs.includes('*')),
  );
}
