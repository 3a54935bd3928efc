import { z } from 'zod';
import type { HttpMethod } from '../protocol.js';

/** One operation of the HTTP API as its route declares it: what the OpenAPI description is made of. */
export interface ApiOperation {
  readonly method: HttpMethod;
  /** express path syntax, full (`/api/v1/resources/:id`, `/api/v1/uploads{/:filename}`, `/api/v1/names/*name`). */
  readonly path: string;
  readonly summary: string;
  /** The route's query schema (query-params.ts), the one its unknown parameters are refused by. */
  readonly query: z.ZodObject;
  /** A JSON body the route validates with this schema, if it takes one. */
  readonly body?: z.ZodType | undefined;
  /** The route takes raw bytes as its body (uploads, appends). */
  readonly bytes?: boolean | undefined;
}

/** The error body every route answers with (transport/http/errors.ts). */
const ErrorBodySchema = z.object({
  error: z.object({
    code: z.string().describe('stable error code (RESOURCE_NOT_FOUND, UNAUTHORIZED, …)'),
    message: z.string(),
    details: z.record(z.string(), z.unknown()).optional(),
  }),
});

/**
 * The OpenAPI paths an express path stands for: `:id` and `*name` become `{id}`, `{name}`;
 * an optional group (`{/:filename}`) gives the path without and with it.
 */
export function openApiPaths(expressPath: string): string[] {
  const group = /\{([^{}]*)\}/.exec(expressPath);
  if (group) {
    const without = expressPath.slice(0, group.index) + expressPath.slice(group.index + group[0].length);
    const within = expressPath.slice(0, group.index) + group[1] + expressPath.slice(group.index + group[0].length);
    return [...openApiPaths(without), ...openApiPaths(within)];
  }
  return [expressPath.replace(/[:*]([A-Za-z0-9_]+)/g, '{$1}')];
}

function jsonSchema(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return rest;
}

function operationOf(op: ApiOperation, path: string) {
  const pathParams = [...path.matchAll(/\{([A-Za-z0-9_]+)\}/g)].map((m) => ({
    name: m[1],
    in: 'path',
    required: true,
    schema: { type: 'string' },
    description: m[1] === 'name' ? 'a resource name (slashes as they are)' : 'an id, or a name with its slashes escaped as %2F',
  }));
  const query = Object.entries(op.query.shape).map(([name, schema]) => {
    const { description, ...valueSchema } = jsonSchema(schema as z.ZodType);
    return { name, in: 'query', required: false, schema: valueSchema, ...(description ? { description } : {}) };
  });
  const content: Record<string, unknown> = {};
  if (op.body) content['application/json'] = { schema: jsonSchema(op.body) };
  if (op.bytes) content['application/octet-stream'] = { schema: { type: 'string', format: 'binary' } };
  return {
    summary: op.summary,
    operationId: `${op.method.toLowerCase()}${path.replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ?? '').toUpperCase())}`,
    parameters: [...pathParams, ...query],
    ...(Object.keys(content).length > 0 ? { requestBody: { required: false, content } } : {}),
    responses: {
      '2XX': { description: op.summary },
      default: { description: 'An error', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
    },
  };
}

/** The OpenAPI 3.1 description of `operations`, generated from their schemas (`GET /api/v1/openapi.json`). */
export function openApiDocument(operations: readonly ApiOperation[], version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of operations) {
    for (const path of openApiPaths(op.path)) {
      paths[path] ??= {};
      (paths[path] as Record<string, unknown>)[op.method.toLowerCase()] = operationOf(op, path);
    }
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Spool HTTP API',
      version,
      description: 'Live upload and download of growing files over HTTP (docs/protocols/http.md).',
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    components: {
      schemas: { Error: jsonSchema(ErrorBodySchema) },
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'an API token or a capability token' },
        tokenParam: { type: 'apiKey', in: 'query', name: 'token' },
      },
    },
    security: [{}, { bearer: [] }, { tokenParam: [] }],
    paths,
  };
}
