import type { UsageEventMessage } from '@tally/contracts';
import type { EventProducer } from '@tally/kafka';
import { isCluster, keys, type RedisClient } from '@tally/redis';
import { ledgerScripts } from './ledger/index.ts';
import { counter, type Logger } from '@tally/runtime';
import { toMessage } from './messages.ts';
import { withRedis } from './redis-errors.ts';

const republished = counter('tally_strict_outbox_republished_total', 'Strict-path events republished by the outbox sweeper (their request died between debit and publish)');

/** What the strict path stores before its debit: the event and the meter it debits. */
export type PendingEvent = UsageEventMessage & { meter: string };

/** A pending message younger than this may still be in its request (publish deadline 5 s, plus slack). */
export const STRICT_PENDING_GRACE_MS = 30_000;
/** A sweeper's claim older than this is taken over (that sweeper died before publishing). */
const CLAIM_LAPSE_MS = 60_000;
const BATCH = 200;

const indexMember = (tenantId: string, customer: string) => `${tenantId}:${customer}`;

/**
 * The outbox of the strict path (check with sendEvent). The request writes its
 * event here before the debit and removes it once Kafka acknowledged it, so a
 * process that dies in between (debit in Redis, event nowhere else) leaves the
 * event behind; the sweeper republishes it with the split the ledger recorded,
 * and the pipeline writes its row without debiting again. Republishing an event
 * that did reach Kafka is harmless: the pipeline applies an id once.
 */
export class StrictOutbox {
  constructor(private readonly redis: RedisClient) {}

  /**
   * Before the debit. Returns false when a message of this id is already
   * pending (an earlier attempt whose request died): it is left for the sweeper,
   * and this request must not remove it.
   */
  async write(event: PendingEvent, digest: Buffer, nowMs: number): Promise<boolean> {
    // Message before index, and the sweeper takes a customer off the index before reading its
    // messages: whatever the interleaving, a message is either seen by that sweep or indexed again.
    // The two keys are in two slots. One server: a pipeline (one connection keeps the order, one
    // round trip). A Cluster: they may be on two nodes, whose replies come in any order, so the index
    // is written once the message is acknowledged (a second round trip, on the strict path only).
    const pendingKey = keys.strictPending(event.tenantId, event.customer);
    const value = `0|${nowMs}|${JSON.stringify(event)}`;
    const member = indexMember(event.tenantId, event.customer);
    if (isCluster(this.redis)) {
      const set = await withRedis(() => this.redis.hsetnx(pendingKey, digest, value));
      await withRedis(() => this.redis.zadd(keys.strictPendingIndex(), 'NX', nowMs, member));
      return set === 1;
    }
    const replies = await withRedis(() => this.redis.pipeline().hsetnx(pendingKey, digest, value).zadd(keys.strictPendingIndex(), 'NX', nowMs, member).exec());
    const [setErr, set] = replies?.[0] ?? [];
    if (setErr) throw setErr;
    if (replies?.[1]?.[0]) throw replies[1][0];
    return set === 1;
  }

  /** Overwrites a leftover message of this id that belonged to an attempt which did not debit. */
  async replace(event: PendingEvent, digest: Buffer, nowMs: number): Promise<void> {
    await withRedis(() => this.redis.hset(keys.strictPending(event.tenantId, event.customer), digest, `0|${nowMs}|${JSON.stringify(event)}`));
    await withRedis(() => this.redis.zadd(keys.strictPendingIndex(), 'NX', nowMs, indexMember(event.tenantId, event.customer)));
  }

  /** Published, or not debited: the message is not needed any more (best effort; the sweeper drops leftovers). */
  forget(tenantId: string, customer: string, digest: Buffer): void {
    this.redis.hdel(keys.strictPending(tenantId, customer), digest).catch(() => {});
  }

  /** Before undoing a debit whose publish failed: false when the sweeper has claimed it (keep the debit). */
  async takeBack(tenantId: string, customer: string, digest: Buffer): Promise<boolean> {
    return (await withRedis(() => ledgerScripts.takeStrictPending.run<number>(this.redis, [keys.strictPending(tenantId, customer)], [digest]))) === 1;
  }
}

export interface StrictOutboxSweepDeps {
  redis: RedisClient;
  producer: EventProducer;
  topic: string;
  logger: Logger;
  graceMs?: number;
}

/** Republishes the strict-path events whose request died after the debit. Safe to run from several processes. */
export class StrictOutboxSweeper {
  constructor(private readonly deps: StrictOutboxSweepDeps) {}

  async sweep(nowMs = Date.now()): Promise<{ republished: number; dropped: number }> {
    const { redis } = this.deps;
    const grace = this.deps.graceMs ?? STRICT_PENDING_GRACE_MS;
    const index = keys.strictPendingIndex();
    const members = await withRedis(() => redis.zrangebyscore(index, 0, nowMs - grace, 'LIMIT', 0, BATCH));
    const out = { republished: 0, dropped: 0 };
    for (const member of members) {
      const cut = member.indexOf(':'); // tenant ids are UUIDs: the first ':' ends them
      const tenantId = member.slice(0, cut);
      const customer = member.slice(cut + 1);
      // Off the index before reading the hash: a request that writes meanwhile adds it back (ZADD NX).
      await withRedis(() => redis.zrem(index, member));
      const pendingKey = keys.strictPending(tenantId, customer);
      const digests = await withRedis(() => redis.hkeysBuffer(pendingKey));
      let retryAt = Infinity;
      for (const digest of digests) {
        const r = await withRedis(() =>
          ledgerScripts.claimStrictPending.run<[number, string?, string?]>(redis, [pendingKey, keys.appliedLog(tenantId, customer)], [digest, nowMs, nowMs - grace, CLAIM_LAPSE_MS]),
        );
        if (r[0] === 0) out.dropped++;
        else if (r[0] === 2) retryAt = Math.min(retryAt, Number(r[1]));
        else if (r[0] === 1) {
          const ok = await this.republish(pendingKey, digest, r[1]!, r[2]!);
          if (ok) out.republished++;
          else retryAt = Math.min(retryAt, nowMs + CLAIM_LAPSE_MS);
        }
      }
      if (retryAt !== Infinity) await withRedis(() => redis.zadd(index, 'NX', retryAt, member));
    }
    return out;
  }

  private async republish(pendingKey: string, digest: Buffer, json: string, logEntry: string): Promise<boolean> {
    const { meter, ...event } = JSON.parse(json) as PendingEvent;
    const [planMicro, purchasedMicro, overageMicro, appliedAt] = logEntry.split(':');
    try {
      await this.deps.producer.send(this.deps.topic, [
        toMessage({ ...event, debited: { meter, planMicro: planMicro!, purchasedMicro: purchasedMicro!, overageMicro: overageMicro!, appliedAt: Number(appliedAt) } }),
      ]);
    } catch (err) {
      this.deps.logger.warn({ err, tenantId: event.tenantId, customer: event.customer, eventId: event.id }, 'strict outbox: republish failed; retried after the claim lapses');
      return false;
    }
    await withRedis(() => this.deps.redis.hdel(pendingKey, digest));
    republished.inc();
    this.deps.logger.warn({ tenantId: event.tenantId, customer: event.customer, eventId: event.id }, 'strict outbox: republished an event whose request died after its debit');
    return true;
  }
}
