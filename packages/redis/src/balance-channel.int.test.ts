import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig, sharedEnv } from '@tally/runtime';
import { createRedis } from './connection.ts';
import { RedisBalanceChannel, type BalanceMessage } from './balance-channel.ts';

const { REDIS_URL } = parseConfig(sharedEnv);
const redis = createRedis(REDIS_URL);
redis.on('error', () => {});
// a channel of this run only: other processes on the shared Redis never hear these
const channelName = `tally:balances:test-${randomUUID()}`;
const publisher = new RedisBalanceChannel(redis, REDIS_URL, channelName);
const listener = new RedisBalanceChannel(redis, REDIS_URL, channelName);

afterAll(async () => {
  await publisher.close();
  await listener.close();
  redis.disconnect();
});

const settle = () => new Promise((r) => setTimeout(r, 300));

describe('RedisBalanceChannel', () => {
  it('delivers to the listener of that tenant and customer only, the latest value of a burst once', async () => {
    const tenant = randomUUID();
    const heard: BalanceMessage[] = [];
    const other: BalanceMessage[] = [];
    listener.listen(tenant, 'cus_1', (m) => heard.push(m));
    listener.listen(randomUUID(), 'cus_1', (m) => other.push(m)); // same customer id, another tenant
    await listener.ready();

    for (const micro of [900n, 800n, 700n]) publisher.publish({ tenantId: tenant, customerId: 'cus_1', creditSystem: 'ai-credits', balanceMicro: micro.toString() });
    publisher.publish({ tenantId: tenant, customerId: 'cus_2', creditSystem: 'ai-credits', balanceMicro: '1' });
    // past 2^53: the decimal string keeps it exact
    publisher.publish({ tenantId: tenant, customerId: 'cus_1', creditSystem: 'big', balanceMicro: '9007199254740993' });
    await expect.poll(() => heard.length, { timeout: 5_000 }).toBe(2);
    await settle();
    expect(heard.map((m) => [m.creditSystem, m.balanceMicro])).toEqual([['ai-credits', '700'], ['big', '9007199254740993']]);
    expect(other).toEqual([]);
  });

  it('carries a burst of many balances in several messages, none lost; an unsubscribed listener hears nothing more', async () => {
    const tenant = randomUUID();
    const heard = new Map<string, string>();
    const stops = Array.from({ length: 1200 }, (_, i) => listener.listen(tenant, `cus_${i}`, (m) => heard.set(m.customerId, m.balanceMicro)));
    await listener.ready();
    for (let i = 0; i < 1200; i++) publisher.publish({ tenantId: tenant, customerId: `cus_${i}`, creditSystem: 'ai-credits', balanceMicro: String(i * 1_000_000) });
    await expect.poll(() => heard.size, { timeout: 5_000 }).toBe(1200);
    expect(heard.get('cus_1199')).toBe('1199000000');

    for (const stop of stops) stop();
    heard.clear();
    publisher.publish({ tenantId: tenant, customerId: 'cus_0', creditSystem: 'ai-credits', balanceMicro: '5' });
    await publisher.flush();
    await settle();
    expect(heard.size).toBe(0);
  });

  it('within a window keeps the balance read last, not the one published last (a late emit of an older read)', async () => {
    const tenant = randomUUID();
    const heard: BalanceMessage[] = [];
    listener.listen(tenant, 'cus_1', (m) => heard.push(m));
    await listener.ready();
    const t0 = Date.now();
    // a grant read at t0 + 5 (540), then a debit's balance read at t0 (40) emitted after its rows were written
    publisher.publish({ tenantId: tenant, customerId: 'cus_1', creditSystem: 'ai-credits', balanceMicro: '540', at: t0 + 5 });
    publisher.publish({ tenantId: tenant, customerId: 'cus_1', creditSystem: 'ai-credits', balanceMicro: '40', at: t0 });
    await expect.poll(() => heard.length, { timeout: 5_000 }).toBe(1);
    await settle();
    expect(heard.map((m) => [m.balanceMicro, m.at])).toEqual([['540', t0 + 5]]);
  });
});

