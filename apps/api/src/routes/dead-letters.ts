import {
  deadLetterPageSchema,
  deadLetterParamsSchema,
  deadLettersQuerySchema,
  errorBodySchema,
  replayDeadLetterBodySchema,
  replayDeadLetterResultSchema,
} from '@tally/contracts';
import type { ApiContext } from '../context.ts';
import type { RouteTable } from '../http/route.ts';

/**
 * Usage rows ClickHouse refused for their content (the workers' batching
 * writer stores them in usage_dead_letters instead of retrying them forever),
 * and deduct payloads that failed validation (table `deduct_job`).
 */
export function registerDeadLetterRoutes(routes: RouteTable, ctx: Pick<ApiContext, 'deadLetters'>): void {
  const { deadLetters } = ctx;
  routes.add({
    method: 'get',
    path: '/dead-letters',
    summary: 'Usage rows ClickHouse refused, newest first (cursor pages: limit, cursor = nextCursor, hasMore)',
    tags: ['metering'],
    query: deadLettersQuerySchema,
    responses: { 200: deadLetterPageSchema, 400: errorBodySchema },
    handler: async ({ query, tenant }) => ({ body: await deadLetters.list(tenant.tenantId, query) }),
  });

  routes.add({
    method: 'post',
    path: '/dead-letters/:id/replay',
    summary: 'Insert a refused row again ({"repair":true} first replaces lone surrogates and NUL with U+FFFD); 422 with the reason if refused again',
    tags: ['metering'],
    params: deadLetterParamsSchema,
    body: replayDeadLetterBodySchema,
    responses: { 200: replayDeadLetterResultSchema, 400: errorBodySchema, 404: errorBodySchema, 409: errorBodySchema, 422: errorBodySchema, 503: errorBodySchema },
    handler: async ({ params, body, tenant }) => ({ body: await deadLetters.replay(tenant.tenantId, params.id, { repair: body.repair }) }),
  });
}
