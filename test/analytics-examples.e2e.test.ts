import { afterAll, describe, expect, it } from 'vitest';
import { loadExampleQueries, renderExample } from '@tally/analytics';
import { createClickHouse } from '@tally/clickhouse';
import { client, config, eventually, newTenant } from './support/stack.ts';
import { DAY_MS, ndjson, todayStart, upload, waitFor } from './analytics-helpers.ts';

const clickhouse = createClickHouse({ url: config.CLICKHOUSE_URL, database: config.CLICKHOUSE_DATABASE, username: config.CLICKHOUSE_USER, password: config.CLICKHOUSE_PASSWORD });
afterAll(() => clickhouse.close());

type Api = ReturnType<typeof client>;
const PACK = { slug: 'starter', name: 'Starter pack', credits: 100, price: 4900, currency: 'USD', creditSystem: 'ai-credits' };

/** gpt4 (20 credits/unit) and dalle (50) in ai-credits, a 100-credit pack sold through the sandbox, customers c1..c3. */
async function tenantWithPack() {
  const tenant = await newTenant('analytics-examples');
  const api = client(tenant.apiKey.secret);
  const sync = await api.post('/v1/sync', {
    defaultProvider: 'sandbox',
    features: [
      { slug: 'gpt4', type: 'metered', name: 'GPT-4' },
      { slug: 'dalle', type: 'metered', name: 'DALL-E' },
    ],
    creditSystems: [{ slug: 'ai-credits', name: 'AI credits', features: [{ feature: 'gpt4', creditCost: 20 }, { feature: 'dalle', creditCost: 50 }] }],
    creditPacks: [PACK],
    plans: [],
  });
  expect(sync.status, JSON.stringify(sync.body)).toBe(200);
  for (const id of ['c1', 'c2', 'c3']) {
    const res = await api.post('/v1/customers', { id, email: `${id}@example.com` });
    expect(res.status, JSON.stringify(res.body)).toBeLessThan(300);
  }
  return { tenant, api };
}

/** The real purchase path: addon without a card → the sandbox's hosted page paid with its test card → completed. */
async function buyOnCheckoutPage(api: Api, customer: string): Promise<string> {
  const addon = await api.post('/v1/addon', { customer, pack: PACK.slug, quantity: 1 });
  expect(addon.status, JSON.stringify(addon.body)).toBe(200);
  expect(addon.body.requiresCheckout).toBe(true);
  const form = new URLSearchParams({ cardNumber: '4242424242424242', expiry: '12/34', cvc: '123' });
  const paid = await fetch(addon.body.checkoutUrl, { method: 'POST', body: form, redirect: 'manual' });
  expect(paid.status).toBe(303);
  await eventually(async () => (await api.get(`/v1/purchases/${addon.body.reference}`)).body.status === 'completed', 45_000);
  return addon.body.reference;
}

/** Every example query of docs/analytics/queries, on data that went in through the API. */
describe('example analyst queries on the running stack', () => {
  it('answers each question for this tenant only, purchases and refunds included as billing recorded them', async () => {
    const { api, tenant } = await tenantWithPack();
    const T = todayStart();
    const created = await upload(
      tenant.apiKey.secret,
      ndjson([
        { customer: 'c1', feature: 'gpt4', value: 3, timestamp: new Date(T + 1000).toISOString() },
        { customer: 'c1', feature: 'dalle', value: 1, timestamp: new Date(T + 2000).toISOString() },
        { customer: 'c3', feature: 'gpt4', value: 1, timestamp: new Date(T + 3000).toISOString() },
        { customer: 'c2', feature: 'dalle', value: 3, timestamp: new Date(T + 4000).toISOString() },
      ]),
    );
    await waitFor(api, created.body.id, ['completed']);

    // c1 keeps its pack; c2's is refunded (c2 spent none of it, so the whole price comes back).
    await buyOnCheckoutPage(api, 'c1');
    const refunded = await buyOnCheckoutPage(api, 'c2');
    const refund = await api.post(`/v1/purchases/${refunded}/refund`);
    expect(refund.status, JSON.stringify(refund.body)).toBe(200);

    const examples = await loadExampleQueries();
    expect(examples.length).toBe(4);
    const run = async (name: string) => {
      const text = renderExample(examples.find((e) => e.name === name)!.text, config.CLICKHOUSE_DATABASE, tenant.tenantId);
      return (await clickhouse.query({ query: text, format: 'JSONEachRow' })).json<Record<string, string | number>>();
    };

    // Expected values from the inputs above: credits = units × cost, micro = × 1e6.
    const M = 1_000_000;
    const c1Burn = (3 * 20 + 1 * 50) * M;
    const c2Burn = 3 * 50 * M;
    const burned = await run('credits_burned_per_customer_per_day_this_month');
    expect(burned.map((r) => [r.customer_id, String(r.credits_burned_micro)])).toEqual([
      ['c1', String(c1Burn)],
      ['c2', String(c2Burn)],
      ['c3', String(20 * M)],
    ]);
    const top = await run('top_features_by_credits');
    expect(top.map((r) => [r.feature, String(r.credits_burned_micro), String(r.event_count)])).toEqual([
      ['dalle', String(4 * 50 * M), '2'],
      ['gpt4', String(4 * 20 * M), '2'],
    ]);

    // The mirror to ClickHouse runs seconds after the commit: wait for the refund to show.
    const monday = new Date(T - ((new Date(T).getUTCDay() + 6) % 7) * DAY_MS).toISOString().slice(0, 10);
    const price = PACK.price;
    await eventually(async () => {
      const revenue = await run('revenue_from_credit_packs_by_week');
      expect(revenue.map((r) => [r.week, r.currency, String(r.purchases), String(r.gross_minor), String(r.refunds_minor), String(r.net_minor)])).toEqual([
        [monday, 'USD', '2', String(2 * price), String(price), String(price)],
      ]);
      return true;
    }, 15_000, 250);

    // c1 bought 100 credits and spent none of them (imports do not debit) but burned 110 this week: under 7 days left.
    // c2's 100 were all taken back by the refund: nothing left, against a burn of 150.
    const remaining = PACK.credits * M;
    expect(await run('customers_about_to_run_out')).toEqual([
      { customer_id: 'c2', credit_system: 'ai-credits', remaining_micro: '0', burn_7d_micro: String(c2Burn), days_left: 0 },
      {
        customer_id: 'c1',
        credit_system: 'ai-credits',
        remaining_micro: String(remaining),
        burn_7d_micro: String(c1Burn),
        days_left: Math.round((remaining / (c1Burn / 7)) * 10) / 10,
      },
    ]);
  });
});
