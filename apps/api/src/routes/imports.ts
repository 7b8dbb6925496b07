import { z } from 'zod';
import { csvRecord, type ImportService } from '@tally/analytics';
import {
  createImportQuerySchema,
  errorBodySchema,
  importIdParamsSchema,
  importListQuerySchema,
  importListResultSchema,
  importStatusSchema,
  rejectedQuerySchema,
  toPage,
} from '@tally/contracts';
import type { ApiContext } from '../context.ts';
import type { RouteTable } from '../http/route.ts';

const PAGE = 5000;

/**
 * Backfill imports. POST /v1/imports streams the request body (NDJSON or CSV,
 * optionally gzip) to disk: app.ts keeps the body parsers off this route.
 * An upload past a limit (size, gzip ratio, the tenant's spool quota) is a
 * 413 naming it; nothing of it is kept.
 */
export function registerImportRoutes(routes: RouteTable, ctx: ApiContext, imports: ImportService = ctx.analytics.imports): void {
  routes.add({
    method: 'post',
    path: '/imports',
    summary: 'Start a backfill import from an NDJSON or CSV file (streamed; gzip with Content-Encoding or ?compression=gzip)',
    tags: ['imports'],
    query: createImportQuerySchema,
    extraContentTypes: ['application/x-ndjson', 'text/csv', 'application/octet-stream', 'application/gzip'],
    responses: { 202: importStatusSchema, 400: null, 413: null },
    handler: async ({ query, tenant, req }) => {
      const gzip = query.compression === 'gzip' || /\bgzip\b/i.test(String(req.headers['content-encoding'] ?? ''));
      const status = await imports.create(tenant.tenantId, query.mode, req, gzip, query.chunkLines);
      return { status: 202, body: status };
    },
  });

  routes.add({
    method: 'get',
    path: '/imports',
    summary: 'List imports, newest first, with their progress (cursor pagination)',
    tags: ['imports'],
    query: importListQuerySchema,
    responses: { 200: importListResultSchema, 400: errorBodySchema },
    handler: async ({ query, tenant }) => {
      const rows = await imports.list(tenant.tenantId, { limit: query.limit, after: query.cursor });
      const page = toPage(rows, query.limit, (r) => [r.createdKey, r.status.id], ({ status: { success: _, ...item } }) => item);
      return { body: { success: true as const, ...page } };
    },
  });

  routes.add({
    method: 'get',
    path: '/imports/:id',
    summary: 'Progress of an import: rows read, accepted, duplicates, rejected, bytes, rate, state',
    tags: ['imports'],
    params: importIdParamsSchema,
    responses: { 200: importStatusSchema, 404: null },
    handler: async ({ params, tenant }) => ({ body: await imports.mustStatus(params.id, tenant.tenantId) }),
  });

  routes.add({
    method: 'post',
    path: '/imports/:id/cancel',
    summary: 'Stop an import between chunks (finished chunks stay; revert removes them)',
    tags: ['imports'],
    params: importIdParamsSchema,
    responses: { 200: importStatusSchema, 404: null, 409: null },
    handler: async ({ params, tenant }) => ({ body: await imports.cancel(params.id, tenant.tenantId) }),
  });

  routes.add({
    method: 'post',
    path: '/imports/:id/revert',
    summary: "Remove an import's events from analytics (asynchronous; poll GET /v1/imports/:id)",
    tags: ['imports'],
    params: importIdParamsSchema,
    responses: { 202: importStatusSchema, 404: null, 409: null },
    handler: async ({ params, tenant }) => ({ status: 202, body: await imports.revert(params.id, tenant.tenantId) }),
  });

  routes.add({
    method: 'get',
    path: '/imports/:id/rejected',
    summary: 'Rejected (or, with kind=flagged, kept-but-flagged) rows with line number and reason, as NDJSON or CSV',
    tags: ['imports'],
    params: importIdParamsSchema,
    query: rejectedQuerySchema,
    responses: { 200: z.string(), 404: null },
    handler: async ({ params, query, tenant, res }) => {
      await imports.mustStatus(params.id, tenant.tenantId);
      const csv = query.format === 'csv';
      res.status(200);
      res.setHeader('Content-Type', csv ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8');
      res.setHeader('Content-Disposition', `attachment; filename="import-${params.id}-${query.kind}.${csv ? 'csv' : 'ndjson'}"`);
      if (csv) res.write('line,reason,content\n');
      let after = 0;
      for (;;) {
        const page = await imports.problems(params.id, tenant.tenantId, query.kind, after, PAGE);
        for (const row of page) {
          // CSV cells are neutralised: a rejected line may be a formula a spreadsheet would run
          res.write(csv ? csvRecord([row.line, row.reason, row.content]) : `${JSON.stringify(row)}\n`);
        }
        if (page.length < PAGE) break;
        after = page[page.length - 1]!.line;
      }
      res.end();
      return undefined;
    },
  });
}
