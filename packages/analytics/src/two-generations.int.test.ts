import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonRow } from '@tally/clickhouse';
import { loadExampleQueries, renderExample } from './examples/example-queries.ts';
import { buildUsageSql, type UsageQuery } from './usage/usage-query.ts';
import { repairRollups } from './rollups/repair.ts';
import { bothGenerations, type Engine } from './testing/clickhouse-engines.ts';

/**
 * The schema, the rollups, the revert arithmetic, the /v1/usage SQL and every
 * example query of docs/analytics/queries, on the 18.16 server AND on current
 * ClickHouse (chdb). Each run uses a fresh tenant on the shared server.
 */
const DAY = 86_400;
const todayStart = Math.floor(Date.now() / 1000 / DAY) * DAY;
const M = 1_000_000n;

function event(tenant: string, id: string, customer: string, feature: string, credits: bigint, over: Record<string, string | number | bigint> = {}) {
  return jsonRow({
    tenant_id: tenant,
    customer_id: customer,
    feature,
    event_id: id,
    value_micro: credits / 20n,
    credits_micro: credits,
    credits_plan_micro: 0n,
    credits_purchased_micro: credits,
    credits_overage_micro: 0n,
    credit_system: 'ai-credits',
    plan: 'pro',
    entity: '',
    properties: '{"region":"eu","model":"gpt-4"}',
    event_time: todayStart + 60,
    ingested_at: todayStart + 60,
    source: 'live',
    import_id: '',
    reverted: 0,
    version: 1,
    ...over,
  });
}

function purchase(tenant: string, id: string, customer: string, credits: bigint, amount: bigint, version: number, refunded = 0n) {
  return jsonRow({
    tenant_id: tenant,
    purchase_id: id,
    customer_id: customer,
    pack: 'starter',
    credit_system: 'ai-credits',
    quantity: 1,
    credits_micro: credits,
    amount_minor: amount,
    refunded_minor: refunded,
    currency: 'usd',
    provider: 'sandbox',
    completed_at: todayStart + 30,
    version,
  });
}

describe.each(bothGenerations)('analytics SQL on %s', (_label, open) => {
  let engine: Engine;
  const tenant = `it-${randomUUID()}`;
  const insert = (table: string, rows: string[]) => engine.exec(`INSERT INTO ${engine.database}.${table} FORMAT JSONEachRow\n${rows.join('\n')}`);

  beforeAll(async () => {
    engine = await open();
    await insert('raw_usage_events_v1', [
      event(tenant, 'e1', 'c1', 'gpt4', 60n * M),
      event(tenant, 'e2', 'c1', 'gpt4', 30n * M, { event_time: todayStart + 3 * 3600, properties: '{"region":"us"}' }),
      event(tenant, 'e3', 'c2', 'dalle', 10n * M),
      event(tenant, 'e4', 'c2', 'dalle', 5n * M, { import_id: 'imp-1', source: 'import' }),
    ]);
    // A revert of e4: same row, reverted = 1, version + 1. Rollups must net it out.
    await insert('raw_usage_events_v1', [event(tenant, 'e4', 'c2', 'dalle', 5n * M, { import_id: 'imp-1', source: 'import', reverted: 1, version: 2 })]);
    // c3 has only an imported event, reverted: it must vanish from every answer.
    await insert('raw_usage_events_v1', [event(tenant, 'e5', 'c3', 'dalle', 7n * M, { import_id: 'imp-1', source: 'import' })]);
    await insert('raw_usage_events_v1', [event(tenant, 'e5', 'c3', 'dalle', 7n * M, { import_id: 'imp-1', source: 'import', reverted: 1, version: 2 })]);
    await insert('credit_pack_purchases_v1', [
      purchase(tenant, 'p1', 'c1', 100n * M, 1000n, 1),
      purchase(tenant, 'p2', 'c2', 1000n * M, 9000n, 1),
      purchase(tenant, 'p2', 'c2', 1000n * M, 9000n, 2, 4000n), // partial refund, later version
    ]);
  });
  afterAll(async () => engine?.close());

  it('keeps hourly and daily rollups exact under a revert', async () => {
    const hourly = await engine.rows<{ customer_id: string; credits: string; events: string }>(
      `SELECT customer_id, sum(credits_micro) AS credits, sum(events) AS events FROM ${engine.database}.usage_per_hour_v1
       WHERE tenant_id = '${tenant}' GROUP BY customer_id HAVING events != 0 ORDER BY customer_id`,
    );
    expect(hourly.map((r) => [r.customer_id, String(r.credits), String(r.events)])).toEqual([
      ['c1', String(90n * M), '2'],
      ['c2', String(10n * M), '1'],
    ]);
    const daily = await engine.rows<{ credits: string; events: string }>(
      `SELECT sum(credits_micro) AS credits, sum(events) AS events FROM ${engine.database}.usage_per_day_v1 WHERE tenant_id = '${tenant}'`,
    );
    expect([String(daily[0]!.credits), String(daily[0]!.events)]).toEqual([String(100n * M), '3']);
  });

  it('answers /v1/usage SQL from rollups and from raw events alike', async () => {
    const base: UsageQuery = {
      tenantId: tenant,
      customers: [],
      features: [],
      creditSystems: [],
      properties: [],
      from: new Date((todayStart - DAY) * 1000),
      to: new Date((todayStart + DAY) * 1000),
      groupBy: ['customer'],
      window: 'day',
      timezone: 'UTC',
      aggregations: ['sum_credits', 'count'],
      orderBy: 'sum_credits',
      limit: 10,
    };
    const variants: UsageQuery[] = [
      base,
      { ...base, window: 'hour', timezone: 'Europe/Paris' },
      { ...base, window: 'minute', aggregations: ['sum_credits', 'count', 'max_value', 'distinct_customers'] },
      { ...base, window: 'month', timezone: 'Asia/Kolkata' },
      { ...base, aggregations: ['sum_credits', 'count', 'distinct_customers'] },
      { ...base, window: 'hour', aggregations: ['sum_credits', 'count', 'distinct_customers'] },
    ];
    const sources = new Set<string>();
    for (const q of variants) {
      const { source, query } = buildUsageSql(q, engine.database);
      sources.add(source);
      const rows = await engine.rows<{ g0: string; sum_credits: string; count: string }>(query.text);
      const byCustomer = new Map<string, [bigint, bigint]>();
      for (const r of rows) {
        const [c, n] = byCustomer.get(r.g0) ?? [0n, 0n];
        byCustomer.set(r.g0, [c + BigInt(r.sum_credits), n + BigInt(r.count)]);
      }
      expect(Object.fromEntries(byCustomer), source).toEqual({ c1: [90n * M, 2n], c2: [10n * M, 1n] });
    }
    expect(sources).toEqual(new Set(['usage_per_day_v1', 'usage_per_hour_v1', 'raw_usage_events_v1']));

    // Distinct customers from the rollup skip c2's reverted event but keep c2 (e3 is live).
    const distinct = await engine.rows<{ distinct_customers: string; count: string }>(
      buildUsageSql({ ...base, groupBy: [], window: null, aggregations: ['distinct_customers', 'count'], orderBy: null }, engine.database).query.text,
    );
    expect(distinct.map((r) => [String(r.distinct_customers), String(r.count)])).toEqual([['2', '3']]);
    const onlyReverted = await engine.rows(
      buildUsageSql({ ...base, groupBy: [], window: 'day', customers: ['c3'], aggregations: ['distinct_customers', 'count'], orderBy: null }, engine.database).query.text,
    );
    expect(onlyReverted).toEqual([]);
    const perFeature = await engine.rows<{ g0: string; distinct_customers: string }>(
      buildUsageSql({ ...base, groupBy: ['feature'], window: null, aggregations: ['distinct_customers'], orderBy: null }, engine.database).query.text,
    );
    expect(perFeature.map((r) => [r.g0, String(r.distinct_customers)])).toEqual([['dalle', '1'], ['gpt4', '1']]);

    const byRegion = await engine.rows<{ g0: string; sum_value: string }>(
      buildUsageSql({ ...base, window: null, groupBy: ['property:region'], properties: [['model', 'gpt-4']], aggregations: ['sum_value'], orderBy: null }, engine.database)
        .query.text,
    );
    expect(byRegion.map((r) => [r.g0, String(r.sum_value)])).toEqual([['eu', String(3_500_000n)]]);
  });

  it('runs every example query in docs/analytics/queries', async () => {
    const examples = await loadExampleQueries();
    expect(examples.map((e) => e.name)).toEqual([
      'credits_burned_per_customer_per_day_this_month',
      'customers_about_to_run_out',
      'revenue_from_credit_packs_by_week',
      'top_features_by_credits',
    ]);
    const run = (name: string) => engine.rows<Record<string, string | number>>(renderExample(examples.find((e) => e.name === name)!.text, engine.database, tenant));

    const burned = await run('credits_burned_per_customer_per_day_this_month');
    expect(burned.map((r) => [r.customer_id, String(r.credits_burned_micro)])).toEqual([
      ['c1', String(90n * M)],
      ['c2', String(10n * M)],
    ]);
    const top = await run('top_features_by_credits');
    expect(top.map((r) => [r.feature, String(r.credits_burned_micro)])).toEqual([
      ['gpt4', String(90n * M)],
      ['dalle', String(10n * M)],
    ]);
    // c1 bought 100 credits and spent 90 of them this week: 10 left at ~90/7 a day.
    const running = await run('customers_about_to_run_out');
    expect(running.map((r) => [r.customer_id, String(r.remaining_micro)])).toEqual([['c1', String(10n * M)]]);
    const revenue = await run('revenue_from_credit_packs_by_week');
    expect(revenue.map((r) => [r.currency, String(r.purchases), String(r.gross_minor), String(r.net_minor)])).toEqual([['usd', '2', '10000', '6000']]);
  });
  // Last: it writes a replayed duplicate row on purpose.
  it('repairs rollups that counted a replayed raw row twice', async () => {
    const totals = async (table: string) =>
      (await engine.rows<{ credits: string; events: string }>(
        `SELECT toString(sum(credits_micro)) AS credits, toString(sum(events)) AS events FROM ${engine.database}.${table} WHERE tenant_id = '${tenant}'`,
      ))[0];
    await insert('raw_usage_events_v1', [event(tenant, 'e1', 'c1', 'gpt4', 60n * M)]); // a pipeline replay: the same row again
    expect(await totals('usage_per_hour_v1')).toEqual({ credits: String(160n * M), events: '4' });
    const from = new Date((todayStart - DAY) * 1000);
    const to = new Date((todayStart + DAY) * 1000);
    expect(await repairRollups(engine, engine.database, tenant, from, to)).toBe(2);
    expect(await totals('usage_per_hour_v1')).toEqual({ credits: String(100n * M), events: '3' });
    expect(await totals('usage_per_day_v1')).toEqual({ credits: String(100n * M), events: '3' });
    expect(await repairRollups(engine, engine.database, tenant, from, to)).toBe(0);
  });
});
