import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { ConfigValidationError, fromZodIssues, type ObjectPath } from './errors';
import {
  ClusterSchema,
  ConfigSchema,
  EndpointSchema,
  ListenerSchema,
  RouteSchema,
  RuleListSchema,
  RuleSchema,
  type Config,
} from './schema/objects';

export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: ConfigValidationError };

/** Validates `input` against `schema`, collecting every problem with its path. */
export function safeParseWith<S extends z.ZodType>(
  schema: S,
  input: unknown,
  options: { prefix?: ObjectPath; context?: string } = {},
): ParseResult<z.output<S>> {
  const result = schema.safeParse(input, { reportInput: true });
  if (result.success) return { ok: true, value: result.data };
  return {
    ok: false,
    error: new ConfigValidationError(
      fromZodIssues(result.error.issues, options.prefix ?? []),
      options.context,
    ),
  };
}

/** Like safeParseWith, but throws the ConfigValidationError. */
export function parseWith<S extends z.ZodType>(
  schema: S,
  input: unknown,
  options: { prefix?: ObjectPath; context?: string } = {},
): z.output<S> {
  const result = safeParseWith(schema, input, options);
  if (!result.ok) throw result.error;
  return result.value;
}

export const parseConfig = (input: unknown) => parseWith(ConfigSchema, input);
export const parseListener = (input: unknown) => parseWith(ListenerSchema, input);
export const parseCluster = (input: unknown) => parseWith(ClusterSchema, input);
export const parseEndpoint = (input: unknown) => parseWith(EndpointSchema, input);
export const parseRuleList = (input: unknown) => parseWith(RuleListSchema, input);
export const parseRule = (input: unknown) => parseWith(RuleSchema, input);
export const parseRoute = (input: unknown) => parseWith(RouteSchema, input);

export type DocumentFormat = 'yaml' | 'json';

/** `.json` is JSON; `.yaml`, `.yml` and anything else is YAML (a superset of JSON). */
export function formatOfFile(path: string): DocumentFormat {
  return extname(path).toLowerCase() === '.json' ? 'json' : 'yaml';
}

/** Parses text as one JSON or YAML document, reporting syntax errors with their position. */
export function parseDocument(text: string, format: DocumentFormat, source = 'input'): unknown {
  if (format === 'json') {
    try {
      return JSON.parse(text);
    } catch (e) {
      throw new ConfigValidationError([
        { path: [], message: `invalid JSON in ${source}: ${(e as Error).message}` },
      ]);
    }
  }
  try {
    return parseYaml(text, { prettyErrors: true });
  } catch (e) {
    throw new ConfigValidationError([
      { path: [], message: `invalid YAML in ${source}: ${(e as Error).message}` },
    ]);
  }
}

/** Parses text as a stream of YAML documents (`---` separated); empty documents are skipped. */
export function parseDocuments(text: string, source = 'input'): unknown[] {
  const docs = parseAllDocuments(text, { prettyErrors: true });
  const list = Array.isArray(docs) ? docs : [docs];
  const values: unknown[] = [];
  list.forEach((doc, index) => {
    if (doc.errors.length > 0) {
      throw new ConfigValidationError(
        doc.errors.map((e) => ({
          path: [],
          message: `invalid YAML in ${source}, document ${index + 1}: ${e.message}`,
        })),
      );
    }
    const value: unknown = doc.toJS();
    if (value !== null && value !== undefined) values.push(value);
  });
  return values;
}

/** Reads and validates a static proxy config file (YAML or JSON). */
export async function loadConfigFile(path: string): Promise<Config> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new ConfigValidationError([{ path: [], message: `cannot read ${path}: ${(e as Error).message}` }]);
  }
  const document = parseDocument(text, formatOfFile(path), path);
  return parseWith(ConfigSchema, document ?? {}, { context: path });
}
