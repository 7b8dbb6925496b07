import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { loadExampleQueries, recordCreditPackPurchase, renderExample } from '@tally/analytics';
import { createClickHouse } from '@tally/clickhouse';
import { config } from './support/stack.ts';
import { analyticsTenant, ndjson, todayStart, upload, waitFor } from './analytics-helpers.ts';

const clickhouse = createClickHouse({ url: config.CLICKHOUSE_URL, database: config.CLICKHOUSE_DATABASE, username: config.CLICKHOUSE_USER, password: config.CLICKHOUSE_PASSWORD });
afterAll(() => clickhouse.close());

/** Every example query of docs/analytics/queries, on data that went in through the API. */
describe('example analyst queries on the running stack', () => {
  it('answers each question for the imported tenant only', async () => {
    const { api, secret, tenant } = await analyticsTenant();
    const T = todayStart();
    const created = await upload(
      secret,
      ndjson([
        { customer: 'c1', feature: 'gpt4', value: 2, timestamp: new Date(T + 1000).toISOString() },
        { customer: 'c1', feature: 'dalle', value: 1, timestamp: new Date(T + 2000).toISOString() },
        { customer: 'c2', feature: 'gpt4', value: 1, timestamp: new Date(T + 3000).toISOString() },
      ]),
    );
    await waitFor(api, created.body.id, ['completed']);
    // Billing mirrors completed purchases; a later version carries a refund.
    const completedAt = new Date(T + 500);
    const base = { tenantId: tenant.tenantId, customerId: 'c1', pack: 'starter', creditSystem: 'ai-credits', quantity: 1, currency: 'usd', provider: 'sandbox', completedAt };
    await recordCreditPackPurchase(clickhouse, config.CLICKHOUSE_DATABASE, { ...base, purchaseId: randomUUID(), creditsMicro: 500_000_000n, amountMinor: 4900n }, 1n);
    const refunded = randomUUID();
    await recordCreditPackPurchase(clickhouse, config.CLICKHOUSE_DATABASE, { ...base, purchaseId: refunded, customerId: 'c2', creditsMicro: 500_000_000n, amountMinor: 4900n }, 1n);
    await recordCreditPackPurchase(clickhouse, config.CLICKHOUSE_DATABASE, { ...base, purchaseId: refunded, customerId: 'c2', creditsMicro: 500_000_000n, amountMinor: 4900n, refundedMinor: 4900n }, 2n);

    const examples = await loadExampleQueries();
    expect(examples.length).toBe(4);
    const run = async (name: string) => {
      const text = renderExample(examples.find((e) => e.name === name)!.text, config.CLICKHOUSE_DATABASE, tenant.tenantId);
      return (await clickhouse.query({ query: text, format: 'JSONEachRow' })).json<Record<string, string | number>>();
    };
    const burned = await run('credits_burned_per_customer_per_day_this_month');
    expect(burned.map((r) => [r.customer_id, String(r.credits_burned_micro)])).toEqual([
      ['c1', '90000000'],
      ['c2', '20000000'],
    ]);
    const top = await run('top_features_by_credits');
    expect(top.map((r) => [r.feature, String(r.credits_burned_micro), String(r.event_count)])).toEqual([
      ['dalle', '50000000', '1'],
      ['gpt4', '60000000', '2'],
    ].sort((a, b) => Number(b[1]) - Number(a[1])));
    // Report imports do not debit purchased credits, so nobody is running out of them.
    expect(await run('customers_about_to_run_out')).toEqual([]);
    const revenue = await run('revenue_from_credit_packs_by_week');
    expect(revenue.map((r) => [r.currency, String(r.purchases), String(r.gross_minor), String(r.refunds_minor), String(r.net_minor)])).toEqual([
      ['usd', '2', '9800', '4900', '4900'],
    ]);
  });
});
