import { describe, expect, it } from 'vitest';
import { eventually } from './support/stack.ts';
import { checkBalance, grantCredits, meteringTenant, subscribedCustomer } from './metering-helpers.ts';
import { ndjson, upload, waitFor } from './analytics-helpers.ts';

/**
 * `apply` imports debit balances through the metering pipeline (as if tracked
 * live); reverting one gives the credits back exactly.
 */
describe('apply imports', () => {
  it('debits like live traffic, rejects unknown customers, re-imports nothing, and reverts to the exact balance', async () => {
    const { api, tenant, tenantId } = await meteringTenant(100);
    const customer = await subscribedCustomer(api);
    await grantCredits(tenantId, customer, 500);
    const before = await checkBalance(api, customer);
    const now = Date.now();
    const file = ndjson([
      { id: `${customer}-a1`, customer, feature: 'gpt-4', value: 3, timestamp: new Date(now - 60_000).toISOString() },
      { id: `${customer}-a2`, customer, feature: 'dall-e', value: 1.5, timestamp: new Date(now - 50_000).toISOString() },
      { id: `${customer}-a3`, customer: 'nobody', feature: 'gpt-4', value: 1, timestamp: new Date(now - 40_000).toISOString() },
      { id: `${customer}-a4`, customer, feature: 'unknown-feature', value: 1, timestamp: new Date(now - 30_000).toISOString() },
    ]);
    const created = await upload(tenant.apiKey.secret, file, '?mode=apply');
    expect(created.status, JSON.stringify(created.body)).toBe(202);
    const done = await waitFor(api, created.body.id, ['completed']);
    expect(done).toMatchObject({ mode: 'apply', rowsRead: 4, accepted: 2, rejected: 2, flagged: 0 });
    const reasons = (await api.get(`/v1/imports/${created.body.id}/rejected`)).body;
    expect(String(typeof reasons === 'string' ? reasons : JSON.stringify(reasons))).toContain('unknown customer');

    // 3 × 20 + 1.5 × 50 = 135 credits: 100 of the plan, then 35 purchased.
    const debited = await eventually(async () => {
      const b = await checkBalance(api, customer);
      return b.credits?.plan?.used === 100 ? b : undefined;
    });
    expect(debited.credits.addonBalance).toBe(before.credits.addonBalance - 35);
    const range = `from=${new Date(now - 3_600_000).toISOString()}&to=${new Date(now + 3_600_000).toISOString()}`;
    await eventually(async () => (await api.get(`/v1/usage?${range}&aggregations=count,sum_credits`)).body.data[0]?.count === 2);

    const again = await upload(tenant.apiKey.secret, file, '?mode=apply');
    expect(await waitFor(api, again.body.id, ['completed'])).toMatchObject({ accepted: 0, duplicates: 2, rejected: 2 });

    expect((await api.post(`/v1/imports/${created.body.id}/revert`)).status).toBe(202);
    await waitFor(api, created.body.id, ['reverted'], 90_000);
    const after = await checkBalance(api, customer);
    expect(after.credits.addonBalance).toBe(before.credits.addonBalance);
    expect(after.credits.plan.used).toBe(before.credits.plan.used);
    expect(after.balance).toBe(before.balance);
    expect((await api.get(`/v1/usage?${range}&aggregations=count,sum_credits`)).body.data).toEqual([]);
  });
});
