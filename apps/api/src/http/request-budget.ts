import type { Request, RequestHandler, Response } from 'express';
import { dependencies, DependencyUnavailableError, newBudget, runWithBudget, waitingOn } from '@tally/runtime';
import type { ApiContext } from '../context.ts';
import { routeClassOf } from './rate-limit-tenant.ts';
import type { RouteClass } from './rate-limit-overrides.ts';

/** POST routes that are batch work, not answers in a caller's request path: no budget. */
const UNBOUNDED = new Set(['/imports', '/usage/repair']);

/** The dependencies a request cannot be answered without: one that readiness reports down is not waited on. */
export function needsOf(routeClass: RouteClass, req: Request): string[] {
  if (routeClass === 'ingest') return ['kafka'];
  if (routeClass === 'check') return (req.body as { sendEvent?: unknown } | null)?.sendEvent === true ? ['redis', 'kafka'] : ['redis'];
  if (req.method === 'GET' && req.path.startsWith('/usage')) return ['clickhouse'];
  return [];
}

/**
 * Every /v1 answer within its route class's budget (docs/operations.md
 * "Budgets"): the budget rides along the request (AsyncLocalStorage, @tally/runtime
 * `bounded`), so the Kafka producer and the Redis scripts wait at most what is left
 * of it; whatever else still holds the answer when the budget is spent, the client
 * gets `503 deadline_exceeded` with Retry-After then (the late result is dropped,
 * never reported). A dependency readiness reports down answers 503 at once.
 */
export function requestBudgets(ctx: ApiContext): RequestHandler {
  dependencies.watch(ctx.probes);
  const budgets: Record<RouteClass, number> = {
    ingest: ctx.config.REQUEST_BUDGET_INGEST_MS,
    check: ctx.config.REQUEST_BUDGET_CHECK_MS,
    other: ctx.config.REQUEST_BUDGET_OTHER_MS,
  };
  return (req, res, next) => {
    // an import streams its upload to disk for as long as it takes; a rollup repair recomputes whole days (409 while one runs)
    if (req.method === 'POST' && UNBOUNDED.has(req.path)) return next();
    const routeClass = routeClassOf(req.method, req.path);
    const needs = needsOf(routeClass, req);
    const down = needs.find((d) => dependencies.isDown(d));
    if (down) return next(new DependencyUnavailableError(down, new Error('reported down by readiness; not waited on')));
    const budget = newBudget(budgets[routeClass]);
    const timer = setTimeout(() => spent(res, waitingOn(budget), needs, budgets[routeClass]), budgets[routeClass]);
    res.on('close', () => clearTimeout(timer));
    res.on('finish', () => clearTimeout(timer));
    runWithBudget(budget, () => next());
  };
}

function spent(res: Response, waiting: string[], needs: string[], budgetMs: number): void {
  for (const d of new Set([...waiting, ...needs])) dependencies.suspect(d);
  if (res.headersSent) return; // a stream that started: it goes on
  const dependency = waiting[0];
  res.setHeader('Retry-After', '1');
  // the handler may still end later; its socket must not carry another request meanwhile
  res.setHeader('Connection', 'close');
  res.status(503).json({
    success: false,
    error: {
      code: 'deadline_exceeded',
      message: `no answer within this request's budget of ${budgetMs} ms${dependency ? ` (waiting on ${dependency})` : ''}; nothing was reported done: retry (with the same event id)`,
      ...(dependency ? { dependency } : {}),
    },
  });
}
