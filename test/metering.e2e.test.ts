import { describe, expect, it } from 'vitest';
import { eventually } from './support/stack.ts';
import { checkBalance, event, grantCredits, meteringTenant, subscribedCustomer, usageTotals } from './metering-helpers.ts';

describe('metering: the seed scenario', () => {
  it('spends the plan allowance first, then purchased credits, at each feature’s credit cost', async () => {
    const { tenantId, api } = await meteringTenant(100);
    const customer = await subscribedCustomer(api);
    expect((await grantCredits(tenantId, customer, 500)).balanceMicro).toBe(600_000_000n);

    const before = await api.post('/v1/check', { customer, feature: 'gpt-4' });
    expect(before.body).toMatchObject({
      allowed: true, code: 'access_granted', usage: 0, limit: 100, balance: 600, resetInterval: 'monthly',
      credits: { source: 'credit_system', systemSlug: 'ai-credits', costPerUnit: 20, addonBalance: 500, plan: { used: 0, limit: 100, balance: 100 } },
    });
    expect(Date.parse(before.body.resetsAt)).toBeGreaterThan(Date.now());

    // 3 gpt-4 calls (60 credits, all from the plan), then one dall-e (50: 40 from the plan, 10 purchased)
    const gpt = [event(customer, 'gpt-4'), event(customer, 'gpt-4'), event(customer, 'gpt-4', 1)];
    const batch = await api.post('/v1/track/batch', { events: gpt });
    expect(batch.status, JSON.stringify(batch.body)).toBe(200);
    expect(batch.body.results.map((r: { status: string }) => r.status)).toEqual(['accepted', 'accepted', 'accepted']);
    const one = await api.post('/v1/track', { ...event(customer, 'dall-e') });
    expect(one.status, JSON.stringify(one.body)).toBe(200);
    expect(one.body).toMatchObject({ success: true, code: 'tracked', id: expect.any(String) });

    const settled = await eventually(async () => {
      const b = await checkBalance(api, customer, 'dall-e');
      return b.balance === 490 ? b : undefined;
    });
    expect(settled).toMatchObject({ usage: 100, limit: 100, balance: 490, credits: { costPerUnit: 50, addonBalance: 490, plan: { used: 100, balance: 0 } } });

    const next = await api.post('/v1/check', { customer, feature: 'dall-e' });
    expect(next.body).toMatchObject({ allowed: true, code: 'addon_credits_used' });
    const tooMuch = await api.post('/v1/check', { customer, feature: 'dall-e', value: 10 });
    expect(tooMuch.body).toMatchObject({ allowed: false, code: 'insufficient_credits', balance: 490 });

    await eventually(async () => (await usageTotals(tenantId, customer)).events === 4);
    expect(await usageTotals(tenantId, customer)).toEqual({ events: 4, plan: 100, purchased: 10, overage: 0 });
  });

  it('records usage beyond the balance as overage and then denies', async () => {
    const { api, tenantId } = await meteringTenant(40);
    const customer = await subscribedCustomer(api);
    const res = await api.post('/v1/track/batch', { events: [event(customer, 'gpt-4', 3)] });
    expect(res.body.accepted).toBe(1);
    await eventually(async () => (await usageTotals(tenantId, customer)).events === 1);
    expect(await usageTotals(tenantId, customer)).toEqual({ events: 1, plan: 40, purchased: 0, overage: 20 });
    expect(await checkBalance(api, customer)).toMatchObject({ balance: 0, usage: 40 });
    expect((await api.post('/v1/check', { customer, feature: 'gpt-4' })).body).toMatchObject({ allowed: false, code: 'insufficient_credits' });
  });

  it('answers the not-found and not-in-plan codes', async () => {
    const { api } = await meteringTenant(10);
    const customer = await subscribedCustomer(api);
    expect((await api.post('/v1/check', { customer: 'nobody', feature: 'gpt-4' })).body).toMatchObject({ allowed: false, code: 'no_active_subscription' });
    expect((await api.post('/v1/check', { customer, feature: 'nope' })).body).toMatchObject({ allowed: false, code: 'feature_not_found' });
    const seats = await api.post('/v1/check', { customer, feature: 'seats', value: 3 });
    expect(seats.body).toMatchObject({ allowed: true, code: 'access_granted', limit: 3, credits: null });
    expect((await api.post('/v1/check', { customer, feature: 'seats', value: 4 })).body).toMatchObject({ allowed: false, code: 'limit_exceeded' });
    const unknownTrack = await api.post('/v1/track', { customer, feature: 'nope' });
    expect(unknownTrack.status).toBe(404);
    expect(unknownTrack.body.error.code).toBe('feature_not_found');
  });
});
