import express, { Router, type RequestHandler } from 'express';
import type { ApiContext } from './context.ts';
import { errorHandler } from './http/errors.ts';
import { keepRawBody } from './http/raw-body.ts';
import { dashboardRouter, requireKeyOrSession } from './dashboard/index.ts';
import { requestContext } from './http/request-context.ts';
import { buildOpenApi } from './http/openapi.ts';
import { RouteTable } from './http/route.ts';
import { requestBudgetStart, requestBudgets } from './http/request-budget.ts';
import { mountHealth } from './routes/health.ts';
import { registerRoutes } from './routes/index.ts';

export interface BuiltApp {
  app: express.Express;
  routes: RouteTable;
}

export function createApp(ctx: ApiContext): BuiltApp {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.use(requestContext(ctx.logger));
  // Batch ingest takes up to 5 MB (API.md); everything else is small.
  // POST /v1/imports streams its body to disk itself (files of any size): no parser may buffer it.
  const parsers: RequestHandler[] = [bodyParser()];

  // Order is the point: no body is read before the request matched a public route or its
  // key was accepted (the key is in a header), so an anonymous 5 MB upload costs nothing.
  const publicRouter = Router();
  const authed = Router();
  authed.use(requestBudgetStart(ctx)); // the budget starts with the request: the key lookup and the limits wait within it too
  authed.use(requireKeyOrSession(ctx.tenants, ctx.sessions, ctx.config.publicUrl, { failures: ctx.limits.authFailures, logger: ctx.logger }));
  authed.use(parsers);
  authed.use(ctx.rateLimits.middleware, requestBudgets(ctx)); // per-tenant limits (after parsing: a batch counts its events), then every wait bounded

  mountHealth(publicRouter, ctx.probes, ctx.config.METRICS_TOKEN);
  const routes = new RouteTable('/v1');
  registerRoutes(routes, ctx);
  routes.mount(publicRouter, authed, parsers);

  publicRouter.get('/openapi.json', (_req, res) => {
    res.json(buildOpenApi(routes.routes, ctx.config.publicUrl));
  });

  app.use(publicRouter);
  app.use('/v1', authed);
  app.use('/dashboard', dashboardRouter(ctx));
  app.use((_req, res) => {
    res.status(404).json({ success: false, error: { code: 'not_found', message: 'no such route' } });
  });
  app.use(errorHandler(ctx.logger));
  return { app, routes };
}

/**
 * One parser per request, picked by its media type: express's three parsers in a row each checked
 * the Content-Type (and the URL, for the imports exception) again on every request.
 */
function bodyParser(): RequestHandler {
  const json = express.json({ limit: '5mb', verify: keepRawBody });
  const text = express.text({ type: ['application/x-ndjson', 'text/csv'], limit: '5mb' });
  const form = express.urlencoded({ extended: false, limit: '64kb' });
  const byType: Record<string, RequestHandler> = {
    'application/json': json,
    'application/x-ndjson': text,
    'text/csv': text,
    'application/x-www-form-urlencoded': form,
  };
  return (req, res, next) => {
    const header = req.headers['content-type'];
    if (!header) return next();
    const semi = header.indexOf(';');
    const parse = byType[(semi < 0 ? header : header.slice(0, semi)).trim().toLowerCase()];
    if (!parse || (req.method === 'POST' && req.originalUrl.split('?')[0] === '/v1/imports')) return next();
    parse(req, res, next);
  };
}
