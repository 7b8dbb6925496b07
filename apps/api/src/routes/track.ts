import { z } from 'zod';
import {
  errorBodySchema,
  trackBatchResponseSchema,
  trackBatchSchema,
  trackEventSchema,
  trackResponseSchema,
} from '@tally/contracts';
import { UNPARSABLE } from '@tally/metering';
import type { ApiContext } from '../context.ts';
import type { RouteTable } from '../http/route.ts';

/** NDJSON: one event per non-empty line; a line that is not JSON is rejected on its own. */
function parseNdjson(text: string): unknown[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      try {
        return JSON.parse(line) as unknown;
      } catch {
        return UNPARSABLE;
      }
    });
}

export function registerTrackRoutes(routes: RouteTable, ctx: ApiContext): void {
  routes.add({
    method: 'post',
    path: '/track',
    summary: 'Record one usage event (answered once Kafka acknowledged it)',
    tags: ['metering'],
    body: trackEventSchema,
    responses: { 200: trackResponseSchema, 400: errorBodySchema, 404: errorBodySchema, 503: errorBodySchema },
    handler: async ({ body, tenant, req }) => {
      const key = req.get('idempotency-key') ?? undefined;
      return { body: await ctx.metering.ingest.trackOne(tenant.tenantId, body, key) };
    },
  });

  routes.add({
    method: 'post',
    path: '/track/batch',
    summary: 'Record up to 10,000 usage events ({ events } or NDJSON); one result per event',
    tags: ['metering'],
    body: z.union([trackBatchSchema, z.string()]),
    extraContentTypes: ['application/x-ndjson'],
    responses: { 200: trackBatchResponseSchema, 400: errorBodySchema, 413: errorBodySchema, 503: errorBodySchema },
    handler: async ({ body, tenant }) => {
      const events = typeof body === 'string' ? parseNdjson(body) : body.events;
      const outcome = await ctx.metering.ingest.trackBatch(tenant.tenantId, events);
      return { body: { success: true, ...outcome } };
    },
  });
}
