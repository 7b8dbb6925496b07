/**
 * repairRollups over HTTP and the CLI: a raw row written twice (as a replay
 * does before ClickHouse merges it away) is counted twice by the rollups'
 * views; POST /v1/usage/repair makes the hourly and daily rollups equal to
 * the raw events again, for the calling tenant only.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createClickHouse, queryRows, raw, sql } from '@tally/clickhouse';
import { main } from '../packages/sdk/src/cli.ts';
import { apiUrl, client, config, eventually } from './support/stack.ts';
import { event, meteringTenant, subscribedCustomer, usageTotals } from './metering-helpers.ts';

const clickhouse = createClickHouse({ url: config.CLICKHOUSE_URL, database: config.CLICKHOUSE_DATABASE, username: config.CLICKHOUSE_USER, password: config.CLICKHOUSE_PASSWORD });
afterAll(() => clickhouse.close());

const GPT4_CREDITS = 20;
const day = (offsetDays: number) => new Date(Date.now() + offsetDays * 86_400_000).toISOString().slice(0, 10);

async function rollupTotals(tenantId: string) {
  const read = async (table: string) => {
    const [r] = await queryRows<{ events: string; credits: string }>(
      clickhouse,
      sql`SELECT toString(sum(events)) AS events, toString(sum(credits_micro)) AS credits FROM ${raw(table)} WHERE tenant_id = ${tenantId}`.text,
    );
    return { events: Number(r!.events), credits: Number(r!.credits) / 1e6 };
  };
  return { hour: await read('usage_per_hour_v1'), day: await read('usage_per_day_v1') };
}

describe('POST /v1/usage/repair', () => {
  it('corrects rollups that counted a replayed raw row twice, for this tenant only', { timeout: 90_000 }, async () => {
    const { tenant, tenantId, api } = await meteringTenant(1000, 'charge');
    const other = await meteringTenant(1000, 'charge');
    const customer = await subscribedCustomer(api);
    const events = [event(customer, 'gpt-4'), event(customer, 'gpt-4'), event(customer, 'gpt-4')];
    const tracked = await api.post('/v1/track/batch', { events });
    expect(tracked.status, JSON.stringify(tracked.body)).toBe(200);
    await eventually(async () => (await usageTotals(tenantId, customer)).events === events.length, 30_000);
    const truth = { events: events.length, credits: events.length * GPT4_CREDITS };
    await eventually(async () => JSON.stringify(await rollupTotals(tenantId)) === JSON.stringify({ hour: truth, day: truth }), 30_000);

    // A replay's second copy of one raw row: the views add it to both rollups.
    await clickhouse.command({
      query: sql`INSERT INTO raw_usage_events_v1 SELECT * FROM raw_usage_events_v1 WHERE tenant_id = ${tenantId} AND event_id = ${events[0]!.id}`.text,
    });
    const doubled = { events: truth.events + 1, credits: truth.credits + GPT4_CREDITS };
    expect(await rollupTotals(tenantId)).toEqual({ hour: doubled, day: doubled });

    // Another tenant's repair touches nothing of this one.
    const elsewhere = await other.api.post('/v1/usage/repair', { from: day(-1), to: day(1) });
    expect(elsewhere.status, JSON.stringify(elsewhere.body)).toBe(200);
    expect(elsewhere.body.corrected).toBe(0);
    expect(await rollupTotals(tenantId)).toEqual({ hour: doubled, day: doubled });

    const repaired = await api.post('/v1/usage/repair', { from: day(-1), to: day(1) });
    expect(repaired.status, JSON.stringify(repaired.body)).toBe(200);
    expect(repaired.body).toEqual({ success: true, from: day(-1), to: day(1), corrected: 2 }); // one key per rollup table
    expect(await rollupTotals(tenantId)).toEqual({ hour: truth, day: truth });

    // Exact already: nothing more to correct; the CLI says so.
    const lines: string[] = [];
    const code = await main(['usage', 'repair', '--from', day(-1), '--to', day(1)], { TALLY_API_KEY: tenant.apiKey.secret, TALLY_API_URL: apiUrl() }, (l) => lines.push(l), (l) => lines.push(l));
    expect({ code, lines }).toEqual({ code: 0, lines: [`rollups ${day(-1)} .. ${day(1)} (exclusive): 0 keys corrected`] });
    expect(await rollupTotals(tenantId)).toEqual({ hour: truth, day: truth });
  });

  it('refuses a bad range with a 400 naming the field, and needs a key', { timeout: 30_000 }, async () => {
    const { api } = await meteringTenant();
    for (const [body, field] of [
      [{ from: '2026-13-01', to: '2026-12-02' }, 'from'],
      [{ from: '2026-12-02', to: '2026-12-02' }, 'to'],
      [{ from: '2025-01-01', to: '2026-12-02' }, 'to'],
      [{ from: '2026-12-01' }, 'to'],
      [{ from: '2026-12-01', to: '2026-12-02', tenant: 'x' }, ''],
    ] as const) {
      const res = await api.post('/v1/usage/repair', body);
      expect(res.status, JSON.stringify(res.body)).toBe(400);
      expect(res.body.error.code).toBe('validation_error');
      if (field) expect(res.body.error.issues.map((i: { path: string }) => i.path)).toContain(field);
    }
    expect((await client(null).post('/v1/usage/repair', { from: day(-1), to: day(1) })).status).toBe(401);
  });
});
