import { describe, expect, it } from 'vitest';
import { eventually } from './support/stack.ts';
import { checkBalance, grantCredits, meteringTenant, subscribedCustomer, usageTotals } from './metering-helpers.ts';

describe('metering: check with sendEvent (the strict path)', () => {
  it('20 concurrent requests for 75 credits against 500 grant exactly 6', async () => {
    const { api, tenantId } = await meteringTenant(0);
    const customer = await subscribedCustomer(api);
    await grantCredits(tenantId, customer, 500);
    // gpt-4 costs 20 credits a unit: 3.75 units = 75 credits
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => api.post('/v1/check', { customer, feature: 'gpt-4', value: 3.75, sendEvent: true })),
    );
    for (const a of answers) expect(a.status, JSON.stringify(a.body)).toBe(200);
    const allowed = answers.filter((a) => a.body.allowed);
    expect(allowed).toHaveLength(6);
    for (const a of allowed) expect(a.body.code).toBe('addon_credits_used');
    for (const a of answers.filter((x) => !x.body.allowed)) expect(a.body.code).toBe('insufficient_credits');
    expect((await checkBalance(api, customer)).balance).toBe(50);

    // the debited events reach ClickHouse once each, and the pipeline does not debit them again
    await eventually(async () => (await usageTotals(tenantId, customer)).events === 6);
    expect(await usageTotals(tenantId, customer)).toEqual({ events: 6, plan: 0, purchased: 450, overage: 0 });
    expect((await checkBalance(api, customer)).balance).toBe(50);
  });

  it('a retried sendEvent with the same id debits once', async () => {
    const { api, tenantId } = await meteringTenant(100);
    const customer = await subscribedCustomer(api);
    const body = { customer, feature: 'gpt-4', sendEvent: true, id: `chk-${customer}` };
    const first = await api.post('/v1/check', body);
    const second = await api.post('/v1/check', body);
    expect(first.body).toMatchObject({ allowed: true, code: 'access_granted', usage: 20, balance: 80 });
    expect(second.body).toMatchObject({ allowed: true, usage: 20, balance: 80, details: { duplicate: true } });
    await eventually(async () => (await usageTotals(tenantId, customer)).events === 1);
    expect((await usageTotals(tenantId, customer)).plan).toBe(20);
    const reused = await api.post('/v1/check', { ...body, value: 2 });
    expect(reused.status).toBe(409);
  });

  it('lets overage through when the plan charges for it', async () => {
    const { api } = await meteringTenant(20, 'charge');
    const customer = await subscribedCustomer(api);
    const a = await api.post('/v1/check', { customer, feature: 'gpt-4', value: 2, sendEvent: true });
    expect(a.body).toMatchObject({ allowed: true, code: 'overage_allowed', details: { split: { plan: 20, purchased: 0, overage: 20 } } });
  });
});
