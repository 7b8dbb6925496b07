import type { Request, RequestHandler, Response, Router } from 'express';
import type { z } from 'zod';
import { AppError } from '@tally/runtime';
import type { Tenant } from './tenant.ts';
import { assertStorableText, parseInput } from './validate.ts';

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

export interface HandlerInput<B, Q, P> {
  body: B;
  query: Q;
  params: P;
  tenant: Tenant;
  req: Request;
  res: Response;
}

/** What a handler returns; `undefined` when it wrote the response itself (e.g. HTML, streams). */
export type HandlerResult = { status?: number; body: unknown; headers?: Record<string, string> } | undefined;

export interface RouteSpec<B extends z.ZodType, Q extends z.ZodType, P extends z.ZodType> {
  method: Method;
  /** Express-style path relative to the mount point, e.g. '/customers/:id'. */
  path: string;
  /** Overrides the table's prefix, e.g. '' for operator routes outside /v1 (public routes only). */
  prefix?: string;
  summary: string;
  tags?: string[];
  /** false for public routes (health, webhooks from providers, hosted pages). */
  auth?: boolean;
  body?: B;
  query?: Q;
  params?: P;
  /** Response schemas by status, for the OpenAPI document. */
  responses: Record<number, z.ZodType | null>;
  /** Non-JSON request bodies this route also accepts, e.g. application/x-ndjson. */
  extraContentTypes?: string[];
  handler: (input: HandlerInput<z.infer<B>, z.infer<Q>, z.infer<P>>) => Promise<HandlerResult>;
}

export type AnyRoute = RouteSpec<z.ZodType, z.ZodType, z.ZodType> & { fullPath: string };

/**
 * Routes are declared once with their zod schemas: the same declaration
 * validates requests and feeds GET /openapi.json, so the two cannot drift.
 */
export class RouteTable {
  readonly routes: AnyRoute[] = [];

  constructor(private readonly prefix = '') {}

  add<B extends z.ZodType, Q extends z.ZodType, P extends z.ZodType>(spec: RouteSpec<B, Q, P>): void {
    this.routes.push({ ...(spec as unknown as RouteSpec<z.ZodType, z.ZodType, z.ZodType>), fullPath: (spec.prefix ?? this.prefix) + spec.path });
  }

  /**
   * `bodyParsers` run on the public routes themselves, so a request is only
   * parsed once it matched one; the authed router parses after authentication.
   */
  mount(router: Router, authed: Router, bodyParsers: RequestHandler[] = []): void {
    for (const route of this.routes) {
      // The authed router is mounted at the table's prefix (app.use('/v1', authed)), so its
      // routes are registered relative to it; public routes keep their full path.
      const target = route.auth === false ? router : authed;
      const path = route.auth === false ? route.fullPath : route.fullPath.slice(this.prefix.length);
      // GET answers go through express (ETag, 304 on If-None-Match); others have no use for an ETag.
      const conditional = route.method === 'get';
      const accepted = ['application/json', ...(route.extraContentTypes ?? [])];
      target[route.method](path, ...(route.auth === false ? bodyParsers : []), async (req: Request, res: Response) => {
        // a body no parser reads would reach the schema as {}: refuse it by name instead
        if (route.body && req.is(accepted) === false) {
          throw new AppError('unsupported_media_type', `Content-Type must be ${accepted.join(' or ')}`, { status: 415 });
        }
        assertStorableText(req.params, 'params');
        assertStorableText(req.query, 'query');
        const input = {
          body: route.body ? parseInput(route.body, req.body ?? {}, 'body') : req.body,
          query: route.query ? parseInput(route.query, req.query, 'query') : req.query,
          params: route.params ? parseInput(route.params, req.params, 'params') : req.params,
          tenant: res.locals.tenant as Tenant,
          req,
          res,
        };
        const result = await route.handler(input);
        if (!result || res.headersSent) return;
        if (result.headers) for (const [name, value] of Object.entries(result.headers)) res.setHeader(name, value);
        if (conditional) res.status(result.status ?? 200).json(result.body);
        else sendJson(res, result.status ?? 200, result.body);
      });
    }
  }
}

/**
 * res.json without express's per-response extras that a POST answer does not
 * use: the SHA-1 ETag over the body, the freshness check and the charset
 * re-parse of Content-Type. Same body bytes and Content-Type.
 */
function sendJson(res: Response, status: number, body: unknown): void {
  const json = JSON.stringify(body) ?? '';
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(json));
  res.end(json);
}
