import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { eventually } from './support/stack.ts';
import { billingTenant, creditsOf, db, newCustomer, saveCard, webhookReceiver, type Api } from './billing.support.ts';

afterAll(async () => {
  await db.end();
});

const autoPurchases = async (tenantId: string, customer: string) => {
  const { rows } = await db.query(
    "SELECT id, status, failure_code FROM purchases WHERE tenant_id = $1 AND customer_id = $2 AND source = 'auto_topup' ORDER BY created_at",
    [tenantId, customer],
  );
  return rows as Array<{ id: string; status: string; failure_code: string | null }>;
};

/** `n` gpt-4 calls at once (20 credits each), through the strict check-and-debit path. */
const spend = (api: Api, customer: string, n: number, tag: string) =>
  Promise.all(Array.from({ length: n }, (_, i) => api.post('/v1/check', { customer, feature: 'gpt-4', sendEvent: true, id: `${tag}-${i}` })));

describe('auto top-up', () => {
  it('falling below the threshold buys the pack once, however many deductions cross it', { timeout: 120_000 }, async () => {
    const { tenantId, api } = await billingTenant();
    const customer = await newCustomer(api);
    await saveCard(api, customer);
    const set = await api.post('/v1/auto-topup', { customer, creditSystem: 'ai-credits', threshold: 50, pack: '500-ai-credits', quantity: 1 });
    expect(set.status).toBe(200);
    expect(set.body).toMatchObject({ enabled: true, threshold: 50, pack: '500-ai-credits', quantity: 1 });

    // 100 plan credits; 5 concurrent calls of 20 take it to 0, crossing 50 on the way (40, 20, 0 are all below).
    await spend(api, customer, 5, 'a');
    const purchases = await eventually(async () => {
      const p = await autoPurchases(tenantId, customer);
      return p.length === 1 && p[0]!.status === 'completed' ? p : null;
    }, 45_000);
    expect(purchases).toHaveLength(1);
    expect(await creditsOf(api, customer)).toEqual({ balance: 500, addon: 500, plan: 0 });

    // Spending down again (500 -> 40) is a new crossing: one more pack, not one per deduction.
    await spend(api, customer, 23, 'b');
    await eventually(async () => {
      const p = await autoPurchases(tenantId, customer);
      return p.length === 2 && p.every((x) => x.status === 'completed') ? p : null;
    }, 45_000);
    expect(await creditsOf(api, customer)).toEqual({ balance: 540, addon: 540, plan: 0 });
  });

  it('a declined card turns auto top-up off until a new card is saved: no retry storm', { timeout: 120_000 }, async () => {
    const { tenantId, api } = await billingTenant();
    const customer = await newCustomer(api);
    const hooks = await webhookReceiver();
    await api.post('/v1/webhooks/endpoints', { url: hooks.url, events: ['purchase.failed', 'balance.low', 'balance.exhausted'] });
    await api.put('/v1/webhooks/balance-alerts', { creditSystem: 'ai-credits', lowBalance: 30 });
    await saveCard(api, customer, '4000000000000002');
    await api.post('/v1/auto-topup', { customer, creditSystem: 'ai-credits', threshold: 50, pack: '500-ai-credits', quantity: 1 });

    await spend(api, customer, 3, 'a'); // 100 -> 40
    const failed = await eventually(async () => {
      const p = await autoPurchases(tenantId, customer);
      return p.length === 1 && p[0]!.status === 'failed' ? p : null;
    }, 45_000);
    expect(failed[0]!.failure_code).toBe('card_declined');
    const off = await eventually(async () => {
      const r = await api.get(`/v1/auto-topup?customer=${customer}&creditSystem=ai-credits`);
      return r.body.enabled === false ? r.body : null;
    });
    expect(off.disabledReason).toBe('card_declined');

    await spend(api, customer, 2, 'b'); // 40 -> 0: below the threshold again, but switched off
    await sleep(1500);
    expect(await autoPurchases(tenantId, customer)).toHaveLength(1);

    // Outbound: purchase.failed once, balance.low once (crossing 30), balance.exhausted once (reaching 0).
    const types = await eventually(async () => {
      const t = hooks.received.map((r) => JSON.parse(r.body).type as string).sort();
      return t.length >= 3 ? t : null;
    });
    expect(types).toEqual(['balance.exhausted', 'balance.low', 'purchase.failed']);

    // A new card switches it back on; the next deduction below the threshold buys the pack.
    await saveCard(api, customer, '4242424242424242');
    await eventually(async () => (await api.get(`/v1/auto-topup?customer=${customer}&creditSystem=ai-credits`)).body.enabled === true);
    await eventually(async () => {
      // The re-enabled setting is cached for up to 2 s per process; keep trying a deduction until it fires.
      await api.post('/v1/check', { customer, feature: 'ai-tokens', value: 0, sendEvent: true });
      const p = await autoPurchases(tenantId, customer);
      return p.length === 2 ? p : null;
    });
    await hooks.close();
  });

  it('deductions from async track (debited by the workers) trigger it too', async () => {
    const { tenantId, api } = await billingTenant();
    const customer = await newCustomer(api);
    await saveCard(api, customer);
    await api.post('/v1/auto-topup', { customer, creditSystem: 'ai-credits', threshold: 50, pack: '500-ai-credits', quantity: 2 });
    for (let i = 0; i < 3; i++) {
      const r = await api.post('/v1/track', { customer, feature: 'gpt-4', id: `t-${i}` });
      expect(r.status).toBe(200);
    }
    const purchases = await eventually(async () => {
      const p = await autoPurchases(tenantId, customer);
      return p.length === 1 && p[0]!.status === 'completed' ? p : null;
    }, 30_000);
    expect(purchases).toHaveLength(1);
    expect(await creditsOf(api, customer)).toEqual({ balance: 1040, addon: 1000, plan: 40 });
  });
});
