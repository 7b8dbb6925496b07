import type { Response } from 'express';
import { customerParamsSchema, errorBodySchema } from '@tally/contracts';
import { fromMicro } from '@tally/core';
import { AppError, notFound } from '@tally/runtime';
import type { BalanceMessage } from '@tally/redis';
import type { ApiContext } from '../context.ts';
import type { RouteTable } from '../http/route.ts';
import type { DashboardSession } from './sessions.ts';

const PING_MS = 15_000;
/** Open streams one tenant may hold on one API process (a leaked key or a loop must not hold sockets without bound). */
export const MAX_STREAMS_PER_TENANT = 50;
const perTenant = new Map<string, number>();

/** Open streams of this process, ended before the server closes (an open stream would hold the shutdown). */
const open = new Set<Response>();

/** Ends every balance stream (shutdown): their EventSource reconnects to another API process. */
export function endBalanceStreams(): void {
  for (const res of open) res.end();
  open.clear();
}

/**
 * GET /v1/customers/:id/balance-stream (server-sent events): an event `balance`
 * `{ customer, creditSystem, balance }` each time one of this customer's balances changes in any
 * process (RedisBalanceChannel), the newest per credit system only; a comment ping every 15 s, at
 * which the stream also ends if its session was signed out or its key revoked.
 */
export function registerBalanceStreamRoute(routes: RouteTable, ctx: Pick<ApiContext, 'customers' | 'balanceSignal' | 'sessions' | 'tenants'>): void {
  routes.add({
    method: 'get',
    path: '/customers/:id/balance-stream',
    summary: "Server-sent events: the customer's balance per credit system each time it changes (dashboard live balances)",
    tags: ['customers'],
    params: customerParamsSchema,
    responses: { 200: null, 401: errorBodySchema, 404: errorBodySchema, 429: errorBodySchema },
    handler: async ({ params, tenant, req, res }) => {
      if (!(await ctx.customers.context(tenant.tenantId, params.id))) throw notFound('customer_not_found', `no customer "${params.id}"`);
      const held = perTenant.get(tenant.tenantId) ?? 0;
      if (held >= MAX_STREAMS_PER_TENANT) {
        throw new AppError('too_many_streams', `a tenant holds at most ${MAX_STREAMS_PER_TENANT} balance streams per API process; close one`, { status: 429, retryable: true, retryAfterSeconds: 5 });
      }
      perTenant.set(tenant.tenantId, held + 1);
      const session = res.locals.dashboardSession as DashboardSession | undefined;
      const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
      const stillAllowed = async () =>
        session ? ctx.sessions.isLive(session.id) : bearer ? (await ctx.tenants.authenticate(bearer)) !== null : false;

      // every PING_MS: a comment, or the end once the session was signed out or the key revoked
      const ping = setInterval(() => {
        void stillAllowed().then(
          (ok) => (ok ? res.write(': ping\n\n') : res.end()),
          () => res.write(': ping\n\n'), // the check failed (a store is down): keep the stream, check again next ping
        );
      }, PING_MS);
      let unlisten = () => {};
      const cleanup = () => {
        clearInterval(ping);
        unlisten();
        open.delete(res);
        const left = (perTenant.get(tenant.tenantId) ?? 1) - 1;
        if (left > 0) perTenant.set(tenant.tenantId, left);
        else perTenant.delete(tenant.tenantId);
      };
      res.once('close', cleanup);
      if (req.destroyed) return void cleanup(); // the client left while the customer was looked up

      res.status(200);
      res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
      res.setHeader('Cache-Control', 'no-cache, no-transform');
      res.setHeader('Connection', 'keep-alive');
      res.setHeader('X-Accel-Buffering', 'no'); // a proxy in front must not buffer it
      res.flushHeaders();
      res.write('retry: 3000\n: connected\n\n');

      const newest = new Map<string, number>();
      const send = (m: BalanceMessage) => {
        if ((newest.get(m.creditSystem) ?? -Infinity) > m.at) return; // an older value heard late
        newest.set(m.creditSystem, m.at);
        const data = { customer: params.id, creditSystem: m.creditSystem, balance: fromMicro(BigInt(m.balanceMicro)) };
        res.write(`event: balance\ndata: ${JSON.stringify(data)}\n\n`);
      };
      unlisten = ctx.balanceSignal.listen(tenant.tenantId, params.id, send);
      open.add(res);
      await ctx.balanceSignal.ready();
      return undefined;
    },
  });
}
