/**
 * A refund takes unspent credits back like usage does: when it empties the
 * balance, balance.low / balance.exhausted fire and auto top-up buys at once,
 * with no usage event after the refund.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { eventually } from './support/stack.ts';
import { billingTenant, buyNow, db, saveCard, webhookReceiver } from './billing.support.ts';

afterAll(async () => {
  await db.end();
});

const autoPurchases = async (tenantId: string, customer: string) =>
  (await db.query("SELECT status FROM purchases WHERE tenant_id = $1 AND customer_id = $2 AND source = 'auto_topup'", [tenantId, customer])).rows as { status: string }[];

describe('a refund that empties the balance', () => {
  it('fires balance.low and balance.exhausted, then auto top-up buys, with no usage after the refund', { timeout: 120_000 }, async () => {
    const { tenantId, api } = await billingTenant();
    // No plan and no usage at all: only the refund can move the balance.
    const customer = `cus_${randomUUID().slice(0, 8)}`;
    expect((await api.post('/v1/customers', { id: customer })).status).toBeLessThan(300);
    const hooks = await webhookReceiver();
    await api.post('/v1/webhooks/endpoints', { url: hooks.url, events: ['balance.low', 'balance.exhausted'] });
    await api.put('/v1/webhooks/balance-alerts', { creditSystem: 'ai-credits', lowBalance: 30 });
    await saveCard(api, customer);

    const bought = await buyNow(api, { customer, pack: '500-ai-credits', quantity: 1 });
    expect(bought.status, JSON.stringify(bought.body)).toBe(200);
    await sleep(1000);
    expect(hooks.received).toHaveLength(0); // 500 is above every threshold

    // Auto top-up set only now, while the balance (500) is above its threshold: no purchase yet.
    await api.post('/v1/auto-topup', { customer, creditSystem: 'ai-credits', threshold: 50, pack: '500-ai-credits', quantity: 1 });
    expect(await autoPurchases(tenantId, customer)).toHaveLength(0);

    const refund = await api.post(`/v1/purchases/${bought.body.reference}/refund`);
    expect(refund.status, JSON.stringify(refund.body)).toBe(200);
    expect(refund.body).toMatchObject({ revokedCredits: 500, spentCredits: 0 });

    const types = await eventually(async () => {
      const t = hooks.received.map((r) => JSON.parse(r.body).type as string).sort();
      return t.length >= 2 ? t : null;
    }, 30_000);
    expect(types).toEqual(['balance.exhausted', 'balance.low']);
    const topped = await eventually(async () => {
      const p = await autoPurchases(tenantId, customer);
      return p.length === 1 && p[0]!.status === 'completed' ? p : null;
    }, 45_000);
    expect(topped).toHaveLength(1);
    await hooks.close();
  });
});
