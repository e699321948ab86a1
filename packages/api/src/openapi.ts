import {
  AdminSchema,
  ConfigSchema,
  EndpointSchema,
  inputJsonSchema,
  ListenerSchema,
  ClusterSchema,
  ObjectName,
  RouteSchema,
  RuleListSchema,
  RuleSchema,
  type JsonSchema,
} from '@l7mp/config';
import { PROXY_VERSION } from '@l7mp/core';
import { z } from 'zod';
import { ROUTES } from './routes';

const BODY_SCHEMAS: Record<string, z.ZodType> = {
  Config: ConfigSchema,
  Admin: AdminSchema,
  Listener: ListenerSchema,
  Cluster: ClusterSchema,
  EndPoint: EndpointSchema,
  RuleList: RuleListSchema,
  Rule: RuleSchema,
  Route: RouteSchema,
  RuleOrName: z.union([ObjectName, RuleSchema]),
};

const ERROR_SCHEMA: JsonSchema = {
  type: 'object',
  required: ['status', 'message', 'content'],
  properties: {
    status: { type: 'integer' },
    message: { type: 'string', description: 'The HTTP reason phrase' },
    content: { description: 'What went wrong and where' },
    issues: {
      type: 'array',
      description: 'Every schema problem, with its path in the request body',
      items: {
        type: 'object',
        properties: { path: { type: 'string' }, message: { type: 'string' } },
      },
    },
  },
};

/** Moves a generated schema's `$defs` into `components.schemas`, rewriting the references. */
function hoist(schema: JsonSchema, components: Record<string, JsonSchema>): JsonSchema {
  const { $schema: _dialect, $defs, ...rest } = schema;
  if ($defs !== null && typeof $defs === 'object') {
    for (const [name, def] of Object.entries($defs as Record<string, JsonSchema>)) {
      components[name] = rewriteRefs(def) as JsonSchema;
    }
  }
  return rewriteRefs(rest) as JsonSchema;
}

function rewriteRefs(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(rewriteRefs);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    out[key] =
      key === '$ref' && typeof inner === 'string' && inner.startsWith('#/$defs/')
        ? `#/components/schemas/${inner.slice('#/$defs/'.length)}`
        : rewriteRefs(inner);
  }
  return out;
}

let cached: JsonSchema | undefined;

/** The OpenAPI 3.1 document of the REST API, generated from the route table and the zod schemas. */
export function openApiDocument(): JsonSchema {
  if (cached !== undefined) return cached;
  const schemas: Record<string, JsonSchema> = { Error: ERROR_SCHEMA };
  for (const [name, schema] of Object.entries(BODY_SCHEMAS)) {
    schemas[name] = hoist(inputJsonSchema(schema), schemas);
  }
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of ROUTES) {
    const path = `/api/v1${route.pattern}`;
    const parameters: unknown[] = [];
    for (const match of route.pattern.matchAll(/\{(\w+)\}/g)) {
      parameters.push({
        name: match[1],
        in: 'path',
        required: true,
        schema:
          match[1] === 'position'
            ? { type: 'string', description: 'An index, or a rule name on DELETE' }
            : { type: 'string' },
      });
    }
    if (route.queryRecursive) {
      parameters.push({
        name: 'recursive',
        in: 'query',
        schema: { type: 'string', enum: ['true', 'false'] },
      });
    }
    if (route.method === 'GET') {
      parameters.push({
        name: 'format',
        in: 'query',
        schema: { type: 'string', enum: ['plain', 'terse', 'space', 'lines', 'diffy'] },
      });
    }
    const operation: Record<string, unknown> = {
      operationId: route.operationId,
      summary: route.summary,
      parameters,
      responses: {
        '200': { description: 'Success', content: { 'application/json': { schema: {} } } },
        default: {
          description: 'Error',
          content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
        },
      },
    };
    if (route.bodySchema !== undefined) {
      const inner = { $ref: `#/components/schemas/${route.bodySchema}` };
      const schema =
        route.bodyKey === undefined
          ? inner
          : { type: 'object', required: [route.bodyKey], properties: { [route.bodyKey]: inner } };
      operation.requestBody = {
        required: true,
        content: { 'application/json': { schema }, 'application/yaml': { schema } },
      };
    }
    (paths[path] ??= {})[route.method.toLowerCase()] = operation;
  }
  paths['/api/v1/openapi.json'] = {
    get: {
      operationId: 'getOpenApi',
      summary: 'This document',
      responses: { '200': { description: 'OpenAPI 3.1' } },
    },
  };
  paths['/healthz'] = {
    get: { operationId: 'healthz', summary: 'Liveness', responses: { '200': { description: 'Alive' } } },
  };
  paths['/readyz'] = {
    get: {
      operationId: 'readyz',
      summary: 'Readiness',
      responses: { '200': { description: 'Ready' }, '503': { description: 'Shutting down' } },
    },
  };
  cached = {
    openapi: '3.1.0',
    info: {
      title: 'l7mp proxy REST API',
      version: PROXY_VERSION,
      description:
        'Configure an l7mp proxy: listeners, clusters, endpoints, rulelists, rules, routes, sessions, and the whole config at once.',
    },
    components: {
      schemas,
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
    },
    security: [{}, { bearer: [] }],
    paths,
  };
  return cached;
}
