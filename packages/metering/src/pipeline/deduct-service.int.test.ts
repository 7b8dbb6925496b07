import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toMicro } from '@tally/core';
import { BatchingWriter, sql } from '@tally/clickhouse';
import type { DeductJob, UsageEventMessage } from '@tally/contracts';
import { BalanceService } from '../balance-service.ts';
import { RedisLedgerStore } from '../ledger/index.ts';
import { Rebuilder } from '../rebuild.ts';
import { createDeductService } from '../services.ts';
import { LocalBalanceEvents } from '../balance-events.ts';
import { seedCatalog } from '../testing/fixtures.ts';
import { testStores } from '../testing/stores.ts';
import type { UsageRow } from './usage-row.ts';

/**
 * DeductService on the real Redis ledger and ClickHouse: a job's events are
 * debited once and stored once, however often the job runs, and an id reused
 * with another payload is not applied.
 */
const stores = testStores();
const { config, redis, pool, clickhouse, logger } = stores;
const seed = seedCatalog(100);
const rebuilder = new Rebuilder({ redis, pool, clickhouse, directory: seed.directory, logger }, config.CLICKHOUSE_DATABASE);
const writer = new BatchingWriter<UsageRow>(clickhouse, config.CLICKHOUSE_DATABASE, 'raw_usage_events_v1', { maxRows: 100, maxDelayMs: 20 });
const events = new LocalBalanceEvents();
const service = createDeductService({ redis, clickhouse, rebuilder, directory: seed.directory, writer, logger, events });
const balances = new BalanceService(new RedisLedgerStore(redis), seed.directory, rebuilder, events);

beforeAll(async () => {
  await stores.ready();
});

afterAll(async () => {
  await writer.close();
  await stores.close();
});

const event = (customer: string, id: string, units: number): UsageEventMessage => ({
  tenantId: seed.tenantId,
  id,
  customer,
  feature: 'gpt-4',
  valueMicro: toMicro(units).toString(),
  timestamp: Date.now(),
  acceptedAt: Date.now(),
  source: 'live',
  properties: {},
});
const job = (customer: string, events: UsageEventMessage[]): DeductJob => ({ topic: 't', partition: 0, firstOffset: '1', lastOffset: String(events.length), customers: [{ tenantId: seed.tenantId, customer, events }] });

async function storedRows(customer: string): Promise<number> {
  const query = sql`SELECT count() AS n FROM raw_usage_events_v1 FINAL WHERE tenant_id = ${seed.tenantId} AND customer_id = ${customer}`.text;
  const [row] = await (await clickhouse.query({ query, format: 'JSONEachRow' })).json<{ n: string }>();
  return Number(row!.n);
}

describe('DeductService', () => {
  it('debits each event once and stores its row once, however often the job runs', async () => {
    const c = `c-${randomUUID().slice(0, 8)}`;
    const j = job(c, [event(c, randomUUID(), 1), event(c, randomUUID(), 2)]);
    expect(await service.apply(j, 'job-1')).toMatchObject({ applied: 2, duplicates: 0, conflicts: 0 });
    // gpt-4 costs 20 credits a unit: 60 of the plan's 100 are used
    expect((await balances.balance({ tenantId: seed.tenantId, customerId: c, creditSystem: 'ai-credits' })).planMicro).toBe(toMicro(40));
    expect(await storedRows(c)).toBe(2);

    expect(await service.apply(j, 'job-1')).toMatchObject({ applied: 0, duplicates: 2 });
    expect((await balances.balance({ tenantId: seed.tenantId, customerId: c, creditSystem: 'ai-credits' })).planMicro).toBe(toMicro(40));
    expect(await storedRows(c)).toBe(2);
  });

  it('does not apply an id used again with another payload', async () => {
    const c = `c-${randomUUID().slice(0, 8)}`;
    const id = randomUUID();
    await service.apply(job(c, [event(c, id, 1)]), 'job-2');
    expect(await service.apply(job(c, [{ ...event(c, id, 3), timestamp: 1 }]), 'job-3')).toMatchObject({ applied: 0, conflicts: 1 });
    expect((await balances.balance({ tenantId: seed.tenantId, customerId: c, creditSystem: 'ai-credits' })).planMicro).toBe(toMicro(80));
    expect(await storedRows(c)).toBe(1);
  });
});
