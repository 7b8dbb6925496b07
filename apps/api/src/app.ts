import express, { Router } from 'express';
import type { ApiContext } from './context.ts';
import { errorHandler } from './http/errors.ts';
import { keepRawBody } from './http/raw-body.ts';
import { requireApiKey } from './http/auth.ts';
import { requestContext } from './http/request-context.ts';
import { buildOpenApi } from './http/openapi.ts';
import { RouteTable } from './http/route.ts';
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
  const parsers = [express.json({ limit: '5mb', verify: keepRawBody }), express.text({ type: ['application/x-ndjson', 'text/csv'], limit: '5mb' }), express.urlencoded({ extended: false, limit: '64kb' })];
  for (const parse of parsers) app.use((req, res, next) => (req.method === 'POST' && req.path === '/v1/imports' ? next() : parse(req, res, next)));

  const publicRouter = Router();
  const authed = Router();
  authed.use(requireApiKey(ctx.tenants));

  mountHealth(publicRouter, ctx.probes);
  const routes = new RouteTable('/v1');
  registerRoutes(routes, ctx);
  routes.mount(publicRouter, authed);

  publicRouter.get('/openapi.json', (_req, res) => {
    res.json(buildOpenApi(routes.routes, ctx.config.publicUrl));
  });

  app.use(publicRouter);
  app.use('/v1', authed);
  app.use((_req, res) => {
    res.status(404).json({ success: false, error: { code: 'not_found', message: 'no such route' } });
  });
  app.use(errorHandler(ctx.logger));
  return { app, routes };
}
