import { parse as parseYaml } from 'yaml';
import { ApiError } from './api-error';

const JSON_TYPES = new Set(['application/json', 'application/x-json', 'text/json', 'text/x-json']);
const YAML_TYPES = new Set(['text/yaml', 'text/x-yaml', 'application/yaml', 'application/x-yaml']);

export type BodyFormat = 'json' | 'yaml';

/** The media type without parameters (`application/json; charset=utf-8` → `application/json`). */
export function mediaType(contentType: string | undefined): string | undefined {
  if (contentType === undefined) return undefined;
  const type = contentType.split(';', 1)[0]!.trim().toLowerCase();
  return type === '' ? undefined : type;
}

export function bodyFormat(contentType: string | undefined): BodyFormat | undefined {
  const type = mediaType(contentType);
  if (type === undefined) return undefined;
  if (JSON_TYPES.has(type)) return 'json';
  if (YAML_TYPES.has(type)) return 'yaml';
  return undefined;
}

/**
 * Decodes a request body. A body is required for POST and PUT; its content type must be one of
 * the anchor's JSON or YAML types (parameters such as charset are tolerated), else 415.
 */
export function decodeBody(method: string, contentType: string | undefined, raw: Buffer): unknown {
  const needsBody = method === 'POST' || method === 'PUT';
  if (!needsBody) return undefined;
  const format = bodyFormat(contentType);
  if (format === undefined) {
    throw new ApiError(
      415,
      `Unsupported content type ${contentType === undefined ? '(none)' : JSON.stringify(contentType)}: ` +
        `use application/json or application/yaml (or text/json, text/x-json, application/x-json, text/yaml, text/x-yaml, application/x-yaml)`,
    );
  }
  const text = raw.toString('utf8');
  if (text.trim() === '') throw new ApiError(400, 'Empty request body: a JSON or YAML document is required');
  if (format === 'json') {
    try {
      return JSON.parse(text);
    } catch (error) {
      throw new ApiError(400, `Invalid JSON format in request: ${(error as Error).message}`);
    }
  }
  try {
    return parseYaml(text);
  } catch (error) {
    throw new ApiError(400, `Invalid YAML format in request: ${(error as Error).message.split('\n')[0]}`);
  }
}
