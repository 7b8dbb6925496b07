import { z } from 'zod';
import type { AnyRoute } from './route.ts';
import { errorCodeTable } from './errors-catalogues.ts';

const toSchema = (schema: z.ZodType, io: 'input' | 'output') =>
  z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' });

/** Express ':id' to OpenAPI '{id}'. */
export const openApiPath = (expressPath: string) => expressPath.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

/** Builds the OpenAPI 3.1 document from the route table. */
export function buildOpenApi(routes: AnyRoute[], serverUrl: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const path = openApiPath(route.fullPath);
    const parameters: unknown[] = [];
    for (const name of route.fullPath.match(/:([A-Za-z0-9_]+)/g) ?? []) {
      parameters.push({ name: name.slice(1), in: 'path', required: true, schema: { type: 'string' } });
    }
    if (route.query) {
      const q = toSchema(route.query, 'input') as { properties?: Record<string, unknown>; required?: string[] };
      for (const [name, schema] of Object.entries(q.properties ?? {})) {
        parameters.push({ name, in: 'query', required: q.required?.includes(name) ?? false, schema });
      }
    }
    const responses: Record<string, unknown> = {};
    for (const [status, schema] of Object.entries(route.responses)) {
      responses[status] = {
        description: `HTTP ${status}`,
        ...(schema ? { content: { 'application/json': { schema: toSchema(schema, 'output') } } } : {}),
      };
    }
    const content: Record<string, unknown> = {};
    if (route.body) content['application/json'] = { schema: toSchema(route.body, 'input') };
    for (const type of route.extraContentTypes ?? []) content[type] = { schema: { type: 'string' } };
    (paths[path] ??= {})[route.method] = {
      summary: route.summary,
      tags: route.tags ?? [],
      ...(route.auth === false ? { security: [] } : {}),
      ...(parameters.length ? { parameters } : {}),
      ...(Object.keys(content).length ? { requestBody: { required: true, content } } : {}),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Tally API', version: '1', description: 'Usage metering and prepaid credits (Owostack-compatible).' },
    servers: [{ url: serverUrl }],
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      // The error codes: the registry docs/errors.md shows, with the package declaring each (errors-catalogues.ts).
      schemas: {
        Error: {
          type: 'object',
          required: ['success', 'error'],
          properties: {
            success: { const: false },
            error: {
              type: 'object',
              required: ['code', 'message'],
              properties: { code: { type: 'string' }, message: { type: 'string' } },
            },
          },
          'x-error-codes': errorCodeTable(),
        },
      },
    },
    security: [{ bearer: [] }],
    paths,
  };
}
