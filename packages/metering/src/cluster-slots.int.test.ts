import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Cluster } from 'ioredis';
import { toMicro } from '@tally/core';
import { createKafka, KafkajsAdmin, KafkajsProducer } from '@tally/kafka';
import { clickHouseFromEnv } from '@tally/clickhouse';
import { createPool } from '@tally/postgres';
import { createRedis, keys, LuaScript, scripts, type RedisClient } from '@tally/redis';
import { startLocalCluster, type LocalCluster } from '@tally/redis/local-cluster';
import { createLogger, parseConfig, sharedEnv } from '@tally/runtime';
import { BalanceService } from './balance-service.ts';
import { LocalBalanceEvents } from './balance-events.ts';
import { Rebuilder } from './rebuild.ts';
import { seedCatalog } from './testing/fixtures.ts';
import { customerPlan, meterArgs, meterForFeature } from './meter-context.ts';
import { idDigest, RedisLedgerStore, runCheckScript } from './ledger/index.ts';
import { StrictOutbox, StrictOutboxSweeper, type PendingEvent } from './strict-outbox.ts';

/**
 * The metering services on a Redis Cluster of this file's own (3 masters): every Lua call they make
 * is recorded with its keys, and CLUSTER KEYSLOT must put all keys of each call in one slot.
 * (Redis would refuse a cross-slot call anyway; this names the script and its keys when one does.)
 */
const config = parseConfig(sharedEnv);
const pool = createPool(config.DATABASE_URL, 2);
const clickhouse = clickHouseFromEnv(config);
const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: 'tally-cluster-slots-int' });
const producer = new KafkajsProducer(kafka);
const topic = `tally.cluster-slots-int.${randomUUID().slice(0, 8)}`;
const logger = createLogger('test', 'silent');
let cluster: LocalCluster;
let redis: RedisClient;

const calls: { script: string; keys: string[] }[] = [];
const run = LuaScript.prototype.run;

beforeAll(async () => {
  cluster = await startLocalCluster(3);
  redis = createRedis(cluster.url);
  redis.on('error', () => {});
  if (redis.status !== 'ready') await once(redis, 'ready');
  LuaScript.prototype.run = function (this: LuaScript, client, ks, args) {
    calls.push({ script: this.file, keys: [...ks] });
    return run.call(this, client, ks, args) as never;
  };
  const admin = new KafkajsAdmin(kafka);
  await admin.ensureTopic(topic, 1, config.KAFKA_REPLICATION_FACTOR);
  await admin.disconnect();
  await producer.connect();
}, 60_000);

afterAll(async () => {
  LuaScript.prototype.run = run;
  redis?.disconnect();
  await cluster?.stop();
  await producer.disconnect();
  await pool.end();
  await clickhouse.close();
});

describe('metering on a Redis Cluster', () => {
  it('rebuild, grants, strict check and debit, and the strict outbox round keep each Lua call in one slot', async () => {
    const seed = seedCatalog(10, 'charge');
    const rebuilder = new Rebuilder({ redis, pool, clickhouse, directory: seed.directory, logger }, config.CLICKHOUSE_DATABASE);
    const balances = new BalanceService(new RedisLedgerStore(redis), seed.directory, rebuilder, new LocalBalanceEvents());
    const t = seed.tenantId;
    const c = `cus_${randomUUID().slice(0, 6)}`;
    const ref = { tenantId: t, customerId: c, creditSystem: 'ai-credits' };

    // a grant: the first call rebuilds the customer (MULTI of its keys), then applies it
    const grantId = randomUUID();
    await balances.applyGrant({ ...ref, grantId, creditsMicro: toMicro(30), grantedAt: new Date(1000) });
    const cp = await customerPlan(seed.directory, t, c);
    const resolved = meterForFeature(cp, 'gpt-4');
    if (!resolved.ok) throw new Error('gpt-4 should meter');
    const args = meterArgs(cp, resolved.def, new Date());

    // the strict path: outbox message first (message, then the global index), then check-and-debit
    const outbox = new StrictOutbox(redis);
    const id = `evt_${randomUUID()}`;
    const digest = idDigest(id);
    const wroteAt = Date.now() - 60_000; // old enough for the sweeper
    const event: PendingEvent = { tenantId: t, id, customer: c, feature: 'gpt-4', valueMicro: '1000000', timestamp: wroteAt, source: 'check', meter: 'ai-credits' };
    expect(await outbox.write(event, digest, wroteAt)).toBe(true);
    expect(await redis.zscore(keys.strictPendingIndex(), `${t}:${c}`)).toBe(String(wroteAt));
    const debit = await runCheckScript(new RedisLedgerStore(redis), rebuilder, t, c, args, { neededMicro: toMicro(20), send: { digest, fingerprint: Buffer.from('fp01'), neededMicro: toMicro(20) } });
    expect(debit.split).toEqual({ planMicro: toMicro(10), purchasedMicro: toMicro(10), overageMicro: 0n });

    // the request "died" before publishing: the sweeper claims the message and republishes it
    const sweeper = new StrictOutboxSweeper({ redis, producer, topic, logger });
    expect(await sweeper.sweep()).toEqual({ republished: 1, dropped: 0 });
    expect(await redis.hlen(keys.strictPending(t, c))).toBe(0);

    // a second strict request whose publish failed takes its message back (nothing claimed it)
    const id2 = `evt_${randomUUID()}`;
    expect(await outbox.write({ ...event, id: id2, timestamp: Date.now() }, idDigest(id2), Date.now())).toBe(true);
    expect(await outbox.takeBack(t, c, idDigest(id2))).toBe(true);

    // a refund takes the grant's unspent part back
    expect((await balances.revokeGrant({ ...ref, grantId })).revokedMicro).toBe(toMicro(20));
    expect((await balances.balance(ref)).purchasedMicro).toBe(0n);

    const used = new Set(calls.map((x) => x.script));
    for (const file of [scripts.applyGrant, scripts.check, scripts.claimStrictPending, scripts.takeStrictPending, scripts.revokeGrant].map((s) => s.file)) {
      expect(used, file).toContain(file);
    }
    for (const call of calls) {
      const slots = new Set(await Promise.all(call.keys.map((k) => (redis as Cluster).cluster('KEYSLOT', k) as Promise<number>)));
      expect(slots.size, `${call.script}: ${call.keys.join(' ')}`).toBe(1);
    }
  });
});
