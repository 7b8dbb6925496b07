import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { eventually } from './support/stack.ts';
import { startApp, type AppProcess } from './support/processes.ts';
import { billingTenant, creditsOf, db, ledgerRows, newCustomer, sandboxCharges, saveCard, tenantCharges } from './billing.support.ts';

/**
 * The checkout worker is killed (SIGKILL) after the provider recorded the
 * charge but before the worker heard back, then restarted. This suite runs its
 * own API and workers on a separate Redis database, so the shared workers of
 * the e2e run cannot take the job instead.
 */
const started: AppProcess[] = [];
afterAll(async () => {
  for (const app of started.reverse()) await app.stop('SIGKILL');
  await db.end();
});

describe('checkout worker killed mid-charge', () => {
  it('charges once and credits once after a restart', { timeout: 120_000 }, async () => {
    const { PUBLIC_URL: _shared, ...stackEnv } = inject('stackEnv');
    const env = { ...stackEnv, REDIS_URL: 'redis://127.0.0.1:6379/5', KAFKA_CONSUMER_GROUP: `${stackEnv.KAFKA_CONSUMER_GROUP}-billing-kill` };
    const api = await startApp('api', env);
    started.push(api);
    const slowWorkers = await startApp('workers', { ...env, PUBLIC_URL: api.url, SANDBOX_CHARGE_DELAY_MS: '15000' });
    started.push(slowWorkers);

    const { tenantId, api: http } = await billingTenant(api.url);
    const customer = await newCustomer(http);
    await saveCard(http, customer);
    const key = randomUUID();
    const answer = http.post('/v1/addon', { customer, pack: '500-ai-credits' }, { 'Idempotency-Key': key });

    // Wait until the sandbox has recorded the charge: the worker is now waiting for the provider's answer.
    const reference = await eventually(async () => {
      const { rows } = await db.query('SELECT id FROM purchases WHERE tenant_id = $1 AND idempotency_key = $2', [tenantId, key]);
      const id = rows[0]?.id as string | undefined;
      return id && (await sandboxCharges(tenantId, id)) === 1 ? id : null;
    });
    await slowWorkers.stop('SIGKILL');
    expect((await http.get(`/v1/purchases/${reference}`)).body.status).toBe('charging');
    expect(await ledgerRows(tenantId, reference)).toBe(0);

    const first = await answer;
    expect(first.status).toBe(202);
    expect(first.body).toMatchObject({ success: true, requiresCheckout: false, reference, status: 'charging' });
    expect(first.headers.get('location')).toBe(`/v1/purchases/${reference}`);

    const workers = await startApp('workers', { ...env, PUBLIC_URL: api.url });
    started.push(workers);
    const done = await eventually(async () => {
      const r = await http.get(`/v1/purchases/${reference}`);
      return r.body.status === 'completed' ? r.body : null;
    }, 60_000);
    expect(done.credits).toBe(500);
    expect(await tenantCharges(tenantId)).toBe(1);
    expect(await ledgerRows(tenantId, reference)).toBe(1);
    expect(await creditsOf(http, customer)).toEqual({ balance: 600, addon: 500, plan: 100 });

    const retry = await http.post('/v1/addon', { customer, pack: '500-ai-credits' }, { 'Idempotency-Key': key });
    expect(retry.body).toMatchObject({ reference, status: 'completed', credits: 500, balance: 600 });
    expect(await tenantCharges(tenantId)).toBe(1);
  });
});
