import type { Redis } from 'ioredis';
import { creditsFor, type MeterDef } from '@tally/core';
import type { DeductJob, UsageEventMessage } from '@tally/contracts';
import { keys, scripts } from '@tally/redis';
import type { BatchingWriter } from '@tally/clickhouse';
import { counter, type Logger } from '@tally/runtime';
import type { MeteringDirectory } from '../directory.ts';
import type { Rebuilder } from '../rebuild.ts';
import { withCustomerState } from '../balance-service.ts';
import { customerPlan, meterArgs, meterForFeature, type MeterArgs } from '../meter-context.ts';
import { dedupGenerations, idDigest, payloadFingerprint } from '../dedup.ts';
import { fingerprintOf } from '../check-service.ts';
import { meterKeys, seenKeys } from '../ledger-keys.ts';
import { withRedis } from '../redis-errors.ts';
import { emitBalanceChanged } from '../balance-events.ts';
import { usageRow, type UsageRow } from './usage-row.ts';

const outcomes = counter('tally_deduct_events_total', 'events seen by the deduct processor', ['outcome']);

const GRANT_TAKES = Buffer.from('#g');
const APPLIED = 1;
const REPLAYED = 2;
const DUPLICATE = 3;
const CONFLICT = 4;

export interface DeductDeps {
  redis: Redis;
  rebuilder: Rebuilder;
  directory: MeteringDirectory;
  writer: BatchingWriter<UsageRow>;
  logger: Logger;
}

export interface DeductSummary {
  applied: number;
  replayed: number;
  duplicates: number;
  conflicts: number;
  unmetered: number;
}

interface CustomerResult {
  rows: UsageRow[];
  digests: Buffer[];
  balances: { meter: string; balanceMicro: bigint }[];
  /** The state build (hydrated key value) the debits went into. */
  build: string | null;
}

/**
 * Applies a deduct job: per customer ONE deduct.var.lua call (debit + event-id
 * dedup, atomically), then the ClickHouse rows, then the applied-log cleanup.
 *
 * Ordering is what makes a crash anywhere safe:
 * 1. Lua applies the events and keeps each one's split in the applied log.
 * 2. The rows are inserted; `write` resolves only after ClickHouse took them.
 * 3. Only then are the applied-log entries removed and the job completes.
 * A crash before 3 makes BullMQ run the job again: the Lua call sees the ids
 * as applied (no second debit) and hands back their splits from the log, so
 * the rows are written again - identical rows, which ReplacingMergeTree
 * collapses (and FINAL / GROUP BY event_id hides until it does).
 */
export class DeductService {
  constructor(private readonly deps: DeductDeps) {}

  async apply(job: DeductJob): Promise<DeductSummary> {
    const summary: DeductSummary = { applied: 0, replayed: 0, duplicates: 0, conflicts: 0, unmetered: 0 };
    const results = await Promise.all(job.customers.map((g) => this.applyCustomer(g.tenantId, g.customer, g.events, summary)));
    await this.deps.writer.write(results.flatMap((r) => r.rows));
    await this.forgetApplied(job, results);
    for (const [i, r] of results.entries()) {
      const g = job.customers[i]!;
      for (const b of r.balances) emitBalanceChanged({ tenantId: g.tenantId, customerId: g.customer, creditSystem: b.meter, balanceMicro: b.balanceMicro });
    }
    outcomes.labels('applied').inc(summary.applied);
    outcomes.labels('replayed').inc(summary.replayed);
    outcomes.labels('duplicate').inc(summary.duplicates);
    outcomes.labels('conflict').inc(summary.conflicts);
    outcomes.labels('unmetered').inc(summary.unmetered);
    return summary;
  }

  private async applyCustomer(t: string, c: string, events: UsageEventMessage[], summary: DeductSummary): Promise<CustomerResult> {
    const { redis, rebuilder, directory, logger } = this.deps;
    const cp = await customerPlan(directory, t, c);
    const now = Date.now();
    const meters = new Map<string, { index: number; args: MeterArgs }>();
    const planned: { m: UsageEventMessage; def: MeterDef; digest: Buffer }[] = [];
    const eventArgs: (string | number | Buffer)[] = [];
    for (const m of events) {
      const resolved = meterForFeature(cp, m.feature);
      if (!resolved.ok) {
        // accepted while the feature existed, removed since: nothing to debit it against
        summary.unmetered++;
        logger.warn({ tenantId: t, customer: c, eventId: m.id, feature: m.feature }, 'event for a feature that is no longer metered');
        continue;
      }
      const def = resolved.def;
      let meter = meters.get(def.meter);
      if (!meter) {
        meter = { index: meters.size + 1, args: meterArgs(cp, def, new Date(now)) };
        meters.set(def.meter, meter);
      }
      const digest = idDigest(m.id);
      planned.push({ m, def, digest });
      eventArgs.push(digest, payloadFingerprint(fingerprintOf(m)), meter.index, creditsFor(BigInt(m.valueMicro), def.costMicro).toString());
    }
    if (planned.length === 0) return { rows: [], digests: [], balances: [], build: null };

    const gen = dedupGenerations(now);
    const meterList = [...meters.values()];
    const k = [keys.hydrated(t, c), ...seenKeys(t, c, gen), keys.appliedLog(t, c), ...meterList.flatMap((x) => meterKeys(t, c, x.args.def.meter))];
    const a = [now, gen.expireAtMs, meterList.length, ...meterList.flatMap((x) => [x.args.startMs, x.args.endMs, x.args.limit]), ...eventArgs];
    const out = await withCustomerState(rebuilder, t, c, async () => {
      const r = await scripts.deduct.run<number[]>(redis, k, a);
      return r[0] === -1 ? -1 : r;
    });

    const rows: UsageRow[] = [];
    const digests: Buffer[] = [];
    const planSlug = cp.subscription?.planSlug ?? '';
    planned.forEach(({ m, def, digest }, i) => {
      const [status, plan, purchased, overage, appliedAt] = out.slice(i * 5, i * 5 + 5) as [number, number, number, number, number];
      if (status === APPLIED || status === REPLAYED) {
        if (status === APPLIED) summary.applied++;
        else summary.replayed++;
        rows.push(usageRow(m, { plan, purchased, overage }, def.creditSystem, planSlug, appliedAt));
        digests.push(digest);
      } else if (status === DUPLICATE) {
        summary.duplicates++;
      } else if (status === CONFLICT) {
        summary.conflicts++;
        logger.warn({ tenantId: t, customer: c, eventId: m.id }, 'event id reused with a different payload: not applied');
      }
    });
    const tail = out.slice(planned.length * 5) as number[];
    const build = (out[out.length - 1] as unknown as string | null) ?? null;
    const balances = meterList.map((x, i) => ({
      meter: x.args.def.meter,
      balanceMicro: BigInt(Math.max(0, tail[i * 2]!)) + BigInt(tail[i * 2 + 1]!),
    }));
    return { rows, digests, balances, build };
  }

  /**
   * Rows are in ClickHouse: their splits need not be kept for replays any more.
   * If the customer's state was rebuilt (flush, lost Redis) after this job's
   * debits and before its rows were written, that build missed them: drop it
   * so the next use rebuilds again, now with these rows in ClickHouse.
   */
  private async forgetApplied(job: DeductJob, results: CustomerResult[]): Promise<void> {
    const { redis, logger } = this.deps;
    const pipeline = redis.pipeline();
    const watched: { i: number; build: string }[] = [];
    results.forEach((r, i) => {
      if (r.digests.length === 0) return;
      const g = job.customers[i]!;
      // '#g' fields exist for strict-path (check) events: their grant takes, kept for an undo
      pipeline.hdel(keys.appliedLog(g.tenantId, g.customer), ...r.digests.flatMap((d) => [d, Buffer.concat([d, GRANT_TAKES])]));
      pipeline.incr(keys.rowsWritten(g.tenantId, g.customer));
      pipeline.get(keys.hydrated(g.tenantId, g.customer));
      watched.push({ i, build: r.build ?? '' });
    });
    if (watched.length === 0) return;
    const replies = await withRedis(async () => (await pipeline.exec()) ?? []);
    const stale = watched.flatMap((w, k) => {
      const current = replies[3 * k + 2]?.[1] as string | null | undefined;
      return current && current !== w.build ? [{ ...w, current }] : [];
    });
    for (const w of stale) {
      const g = job.customers[w.i]!;
      // compare-and-delete: only the build that missed these rows
      await withRedis(() =>
        redis.eval("if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0", 1, keys.hydrated(g.tenantId, g.customer), w.current),
      );
      logger.info({ tenantId: g.tenantId, customer: g.customer }, 'state was rebuilt while debits were in flight; rebuilding again');
    }
  }
}
