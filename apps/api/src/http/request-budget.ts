import type { Request, RequestHandler, Response } from 'express';
import { dependencies, DependencyUnavailableError, newBudget, runWithBudget, waitingOn, type RequestBudget } from '@tally/runtime';
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
  const budgets = budgetsOf(ctx);
  return (req, res, next) => {
    // an import streams its upload to disk for as long as it takes; a rollup repair recomputes whole days (409 while one runs)
    if (req.method === 'POST' && UNBOUNDED.has(req.path)) return next();
    const routeClass = routeClassOf(req.method, req.path);
    const needs = needsOf(routeClass, req);
    const down = needs.find((d) => dependencies.isDown(d));
    if (down) return next(new DependencyUnavailableError(down, new Error('reported down by readiness; not waited on')));
    // started before authentication (requestBudgetStart), so the key lookup and the tenant's limits spent part of it;
    // entered again here: the body parsers' callbacks need not carry the context
    const budget = (res.locals.budget as RequestBudget | undefined) ?? startBudget(req, res, budgets[routeClass], routeClass);
    runWithBudget(budget, () => next());
  };
}

/**
 * Mounted before authentication: the budget starts when the request does, so the waits before the handler (the
 * API key's lookup in Postgres on a cache miss, a dashboard session, the tenant's rate-limit overrides) are
 * bounded by it too, and the answer leaves at the budget even if one of them hangs.
 */
export function requestBudgetStart(ctx: ApiContext): RequestHandler {
  const budgets = budgetsOf(ctx);
  return (req, res, next) => {
    if (req.method === 'POST' && UNBOUNDED.has(req.path)) return next();
    const routeClass = routeClassOf(req.method, req.path);
    runWithBudget(startBudget(req, res, budgets[routeClass], routeClass), () => next());
  };
}

const budgetsOf = (ctx: ApiContext): Record<RouteClass, number> => ({
  ingest: ctx.config.REQUEST_BUDGET_INGEST_MS,
  check: ctx.config.REQUEST_BUDGET_CHECK_MS,
  other: ctx.config.REQUEST_BUDGET_OTHER_MS,
});

/** A new budget for this request, and the answer it gets when the budget is spent. */
function startBudget(req: Request, res: Response, budgetMs: number, routeClass: RouteClass): RequestBudget {
  const budget = newBudget(budgetMs);
  res.locals.budget = budget;
  const timer = setTimeout(() => spent(res, waitingOn(budget), needsOf(routeClass, req), budgetMs), budgetMs);
  res.on('close', () => clearTimeout(timer));
  res.on('finish', () => clearTimeout(timer));
  return budget;
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
