import { grantRemainders, rolloverCarry, rolloverGrantId, rolloverLife, spendingOrder, spendingScore, type GrantState, type PurchasedUsage } from '@tally/core';
import { keys, type RedisClient } from '@tally/redis';
import { ident, queryRows, sql, type ClickHouseClient } from '@tally/clickhouse';
import type { Pool } from '@tally/postgres';
import { counter, type Logger } from '@tally/runtime';
import { meteringErrors } from './errors.ts';
import type { MeteringDirectory } from './directory.ts';
import { customerPlan, meterArgs, meterBySlug } from './meter-context.ts';
import { compareAndDelete, dedupGenerations, idDigest, ledgerScripts, meterKeys, DEDUP_WINDOW_MS } from './ledger/index.ts';
import { withRedis } from './redis-errors.ts';
import { readAppliedLog, type InFlightDebit } from './ledger/applied-log.ts';

const rebuilds = counter('tally_balance_rebuilds_total', 'Customer balance states rebuilt from Postgres + ClickHouse');

export interface RebuildDeps {
  redis: RedisClient;
  pool: Pool;
  clickhouse: ClickHouseClient;
  directory: MeteringDirectory;
  logger: Logger;
}

interface GrantRow {
  id: string;
  credit_system: string;
  credits_micro: bigint;
  revoked_micro: bigint;
  granted_at: Date;
  expires_at: Date | null;
}

interface UsageRow {
  meter: string;
  plan: string;
  purchased: string;
  overage: string;
}

type LedgerGrant = GrantState & { revoked: boolean };

const LOCK_MS = 15_000;

/**
 * Builds a customer's Redis state when it has none (first use, flush, lost
 * instance): grants from the Postgres ledger, usage from ClickHouse. Every
 * script refuses to touch a customer without the `hydrated` key, so nothing
 * is applied between "state lost" and "state rebuilt".
 */
export class Rebuilder {
  private readonly table;

  constructor(private readonly deps: RebuildDeps, database: string) {
    this.table = sql`${ident(database)}.${ident('raw_usage_events_v1')}`;
  }

  async ensure(tenantId: string, customerId: string): Promise<void> {
    const { redis } = this.deps;
    const hydrated = keys.hydrated(tenantId, customerId);
    if ((await withRedis(() => redis.exists(hydrated))) === 1) return;
    const lock = keys.rebuildLock(tenantId, customerId);
    const token = `${process.pid}:${Math.random()}`;
    const got = await withRedis(() => redis.set(lock, token, 'PX', LOCK_MS, 'NX'));
    if (!got) {
      // another process is rebuilding: wait for it
      const deadline = Date.now() + LOCK_MS;
      while (Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
        if ((await withRedis(() => redis.exists(hydrated))) === 1) return;
      }
      throw meteringErrors.rebuild_busy('balance rebuild still running');
    }
    try {
      if ((await withRedis(() => redis.exists(hydrated))) === 1) return;
      await this.rebuild(tenantId, customerId, new Date());
    } finally {
      await compareAndDelete(redis, lock, token).catch(() => {});
    }
  }

  private async rebuild(t: string, c: string, now: Date): Promise<void> {
    const { redis, logger } = this.deps;
    // Rows written while this build reads ClickHouse would be missed: remember the
    // counter the deduct processor bumps after each write, and compare at the end.
    const writesBefore = await withRedis(() => redis.get(keys.rowsWritten(t, c)));
    // Debits already made whose rows are on their way: read before ClickHouse, so that a row
    // written in between is found there and its entry left out (inFlightOnly), never counted twice.
    // A row written after the ids are read is caught by the rows-written check below.
    const logged = await withRedis(() => readAppliedLog(redis, t, c));
    // rows are stamped in whole seconds (ingested_at)
    const since = logged.reduce((m, d) => Math.min(m, d.appliedAtMs - 1000), now.getTime() - DEDUP_WINDOW_MS);
    const ids = await this.recentEventIds(t, c, since);
    const inFlight = inFlightOnly(logged, ids);
    const cp = await customerPlan(this.deps.directory, t, c);
    const grants = await this.grants(t, c);
    const usage = await this.usageByMeter(t, c);
    const meters = new Set<string>([...cp.snapshot.creditSystems.keys(), ...grants.keys(), ...usage.keys(), ...inFlight.map((d) => d.meter)]);
    for (const slug of cp.plan?.entitlements.keys() ?? []) meters.add(slug);

    const tx = redis.multi();
    for (const slug of meters) {
      const args = meterArgs(cp, meterBySlug(cp, slug), now);
      const [meterKey, grantsKey, orderKey, expiryKey] = meterKeys(t, c, slug) as [string, string, string, string];
      tx.del(meterKey, grantsKey, orderKey, expiryKey);
      const pending = inFlight.filter((d) => d.meter === slug);
      const inPeriod = withInFlight(await this.periodUsage(t, c, slug, args.startMs, args.endMs), pending, args.startMs, args.endMs);
      tx.hset(meterKey, {
        period_start: String(args.startMs),
        period_end: String(args.endMs),
        limit: String(args.limit),
        used: inPeriod.plan.toString(),
        overage: inPeriod.overage.toString(),
      });
      // The plan does not meter it: the period the live ledger had open (from an earlier plan) is
      // unknown here, so the first event with a period settles it (settlePeriod) instead of starting afresh.
      if (!args.def.inPlan) tx.hset(meterKey, 'period_unknown', '1');
      // Purchased usage of all time, taken from each grant as the rows recorded it.
      const list = grants.get(slug) ?? [];
      const used = usage.get(slug) ?? { takes: new Map(), untrackedMicro: 0n };
      for (const d of pending) {
        let taken = 0n;
        for (const [id, micro] of d.takes) {
          used.takes.set(id, (used.takes.get(id) ?? 0n) + micro);
          taken += micro;
        }
        used.untrackedMicro += d.purchasedMicro - taken;
      }
      const left = grantRemainders(list, used);
      for (const g of spendingOrder(list)) {
        const rem = left.get(g.id)!;
        tx.hset(grantsKey, g.id, rem.toString());
        if (rem > 0n) tx.zadd(orderKey, spendingScore(g), g.id);
        if (g.expiresAtMs !== null) tx.hset(expiryKey, g.id, String(g.expiresAtMs));
      }
      // Rollover: each past period still in reach carries min(max, its unused plan allowance), as the
      // ledger's period turn did, less what rows took from that carry.
      const ro = args.rollover;
      for (const [i, w] of (ro?.windows ?? []).entries()) {
        const past = withInFlight(await this.periodUsage(t, c, slug, w.startMs, w.endMs), pending, w.startMs, w.endMs);
        const carry = rolloverCarry(args.def.limitMicro, past.plan, ro!.maxMicro);
        if (carry === 0n) continue;
        const id = rolloverGrantId(slug, w.startMs);
        const rem = carry - (used.takes.get(id) ?? 0n);
        tx.hset(grantsKey, id, (rem > 0n ? rem : 0n).toString());
        if (rem > 0n) tx.zadd(orderKey, w.startMs, id);
        tx.hset(meterKey, `life:${id}`, String(rolloverLife(ro!.periods, ro!.windows.length, i)));
      }
    }
    // Ids applied in the dedup window are remembered again (payload unknown: '*' = duplicate, not conflict).
    const gen = dedupGenerations(now.getTime());
    const seenKey = keys.seenEvents(t, c, gen.current);
    for (let i = 0; i < ids.length; i += 1000) {
      const fields: (Buffer | string)[] = [];
      for (const id of ids.slice(i, i + 1000)) fields.push(idDigest(id), '*');
      tx.hset(seenKey, ...(fields as [Buffer, string]));
    }
    if (ids.length) tx.pexpireat(seenKey, gen.expireAtMs);
    // a fresh value per build: the deduct processor compares it to detect a build that raced its writes
    const build = `${now.getTime()}-${Math.random().toString(36).slice(2, 10)}`;
    tx.set(keys.hydrated(t, c), build);
    await withRedis(() => tx.exec());
    if ((await withRedis(() => redis.get(keys.rowsWritten(t, c)))) !== writesBefore) {
      // a deduct job wrote rows meanwhile: this build may lack them, so the next use builds again
      await compareAndDelete(redis, keys.hydrated(t, c), build);
      logger.info({ tenantId: t, customerId: c }, 'rows were written during the rebuild; it will run again');
    }
    rebuilds.inc();
    logger.info({ tenantId: t, customerId: c, meters: meters.size, events: ids.length }, 'balance state rebuilt');
  }

  /**
   * Settles the period of a meter this rebuild left without one, once an event
   * comes with a period: its plan usage and overage in [startMs, endMs) from
   * ClickHouse — what a rebuild under that period gives. Read again while rows
   * of this customer are being written (not waiting for all of them: the caller
   * may itself hold applied events whose rows come after it, see settle-period.2.lua).
   */
  async settlePeriod(t: string, c: string, meter: string, startMs: number, endMs: number): Promise<void> {
    const { redis } = this.deps;
    const deadline = Date.now() + LOCK_MS;
    for (;;) {
      const writesBefore = (await withRedis(() => redis.get(keys.rowsWritten(t, c)))) ?? '';
      const inPeriod = await this.periodUsage(t, c, meter, startMs, endMs);
      const done = await withRedis(() =>
        ledgerScripts.settlePeriod.run<number>(redis, [keys.meter(t, c, meter), keys.rowsWritten(t, c)], [
          writesBefore,
          startMs,
          endMs,
          inPeriod.plan.toString(),
          inPeriod.overage.toString(),
        ]),
      );
      if (done !== 0) return;
      if (Date.now() > deadline) throw meteringErrors.rebuild_busy('usage rows kept being written while settling a period; retry');
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Grants ledger from Postgres (table created by billing; absent before its migration). */
  private async grants(t: string, c: string): Promise<Map<string, LedgerGrant[]>> {
    const out = new Map<string, LedgerGrant[]>();
    const { rows: reg } = await this.deps.pool.query<{ t: string | null }>("SELECT to_regclass('credit_grants')::text AS t");
    if (!reg[0]?.t) return out;
    const { rows } = await this.deps.pool.query<GrantRow>(
      `SELECT id, credit_system, credits_micro, revoked_micro, granted_at, expires_at
         FROM credit_grants WHERE tenant_id = $1 AND customer_id = $2 ORDER BY granted_at, id`,
      [t, c],
    );
    for (const r of rows) {
      const list = out.get(r.credit_system) ?? [];
      list.push({
        id: r.id,
        remainingMicro: r.credits_micro - r.revoked_micro,
        grantedAtMs: r.granted_at.getTime(),
        expiresAtMs: r.expires_at ? r.expires_at.getTime() : null,
        revoked: r.revoked_micro > 0n,
      });
      out.set(r.credit_system, list);
    }
    return out;
  }

  /**
   * All-time purchased usage per meter; FINAL collapses rows re-inserted by replays.
   * Takes per grant (grant ids are unique per customer), and the purchased credits of rows without takes.
   */
  private async usageByMeter(t: string, c: string): Promise<Map<string, PurchasedUsage>> {
    const meter = sql`if(credit_system != '', credit_system, feature)`;
    const takes = await queryRows<{ meter: string; grant_id: string; micro: string }>(
      this.deps.clickhouse,
      sql`SELECT ${meter} AS meter, grant_id, toString(sum(take)) AS micro
            FROM ${this.table} FINAL ARRAY JOIN grant_ids AS grant_id, grant_takes AS take
           WHERE tenant_id = ${t} AND customer_id = ${c} AND reverted = 0
           GROUP BY meter, grant_id`.text,
    );
    const untracked = await queryRows<UsageRow>(
      this.deps.clickhouse,
      sql`SELECT ${meter} AS meter, '0' AS plan, toString(sum(credits_purchased_micro)) AS purchased, '0' AS overage
            FROM ${this.table} FINAL
           WHERE tenant_id = ${t} AND customer_id = ${c} AND reverted = 0 AND empty(grant_ids)
           GROUP BY meter`.text,
    );
    const out = new Map<string, PurchasedUsage>();
    const of = (m: string) => out.get(m) ?? out.set(m, { takes: new Map(), untrackedMicro: 0n }).get(m)!;
    for (const r of takes) of(r.meter).takes.set(r.grant_id, BigInt(r.micro));
    for (const r of untracked) of(r.meter).untrackedMicro += BigInt(r.purchased);
    return out;
  }

  /** Plan and overage usage of one meter in its current period (rows are in the period they were applied in). */
  private async periodUsage(t: string, c: string, meter: string, startMs: number, endMs: number) {
    const rows = await queryRows<UsageRow>(
      this.deps.clickhouse,
      sql`SELECT ${meter} AS meter, toString(sum(credits_plan_micro)) AS plan, '0' AS purchased,
                 toString(sum(credits_overage_micro)) AS overage
            FROM ${this.table} FINAL
           WHERE tenant_id = ${t} AND customer_id = ${c} AND reverted = 0
             AND if(credit_system != '', credit_system, feature) = ${meter}
             AND ingested_at >= ${new Date(startMs)} AND ingested_at < ${new Date(Math.min(endMs, 4_102_444_800_000))}`.text,
    );
    const r = rows[0];
    return { plan: BigInt(r?.plan ?? '0'), overage: BigInt(r?.overage ?? '0') };
  }

  /** Ids of rows applied since `sinceMs` (the dedup window, or the oldest in-flight debit if older). */
  private async recentEventIds(t: string, c: string, sinceMs: number): Promise<string[]> {
    const rows = await queryRows<{ event_id: string }>(
      this.deps.clickhouse,
      sql`SELECT DISTINCT event_id FROM ${this.table}
           WHERE tenant_id = ${t} AND customer_id = ${c} AND ingested_at >= ${new Date(sinceMs)}`.text,
    );
    return rows.map((r) => r.event_id);
  }
}

/** The logged debits whose rows ClickHouse does not hold yet. */
function inFlightOnly(logged: InFlightDebit[], storedIds: string[]): InFlightDebit[] {
  if (logged.length === 0) return logged;
  const stored = new Set(storedIds.map((id) => idDigest(id).toString('hex')));
  return logged.filter((d) => !stored.has(d.digest));
}

/** Period usage from ClickHouse plus the in-flight debits applied in [startMs, endMs) (rows land where they were applied). */
function withInFlight(u: { plan: bigint; overage: bigint }, pending: InFlightDebit[], startMs: number, endMs: number) {
  let { plan, overage } = u;
  for (const d of pending) {
    if (d.appliedAtMs < startMs || d.appliedAtMs >= endMs) continue;
    plan += d.planMicro;
    overage += d.overageMicro;
  }
  return { plan, overage };
}
