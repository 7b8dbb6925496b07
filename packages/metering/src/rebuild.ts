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
  refunded: boolean | null;
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
    // Debits already made whose rows may not be in ClickHouse yet (the applied log), read BEFORE
    // ClickHouse: every row of such a debit, stored or not, is then counted from its log entry and
    // left out of ClickHouse's part; a row whose entry was gone by then was written before, so
    // ClickHouse has it. Rows come in whole seconds, so ClickHouse's part is cut at a second: the
    // rows from `cut` on are read one by one (few: seconds' worth) and those of logged debits dropped.
    const logged = await withRedis(() => readAppliedLog(redis, t, c));
    const oldest = logged.reduce((m, d) => Math.min(m, d.appliedAtMs), Number.POSITIVE_INFINITY);
    const cut = logged.length === 0 ? null : Math.floor(oldest / 1000) * 1000 - 1000;
    const extra = cut === null ? [] : [...notLogged(await this.rowsSince(t, c, cut), logged), ...logged];
    const ids = await this.recentEventIds(t, c, now);
    const cp = await customerPlan(this.deps.directory, t, c);
    const grants = await this.grants(t, c);
    const usage = await this.usageByMeter(t, c, cut);
    const meters = new Set<string>([...cp.snapshot.creditSystems.keys(), ...grants.keys(), ...usage.keys(), ...extra.map((d) => d.meter)]);
    for (const slug of cp.plan?.entitlements.keys() ?? []) meters.add(slug);

    const tx = redis.multi();
    for (const slug of meters) {
      const args = meterArgs(cp, meterBySlug(cp, slug), now);
      const [meterKey, grantsKey, orderKey, expiryKey] = meterKeys(t, c, slug) as [string, string, string, string];
      tx.del(meterKey, grantsKey, orderKey, expiryKey);
      const pending = extra.filter((d) => d.meter === slug);
      const inPeriod = withRows(await this.periodUsage(t, c, slug, args.startMs, args.endMs, cut), pending, args.startMs, args.endMs);
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
      // Purchased usage of all time, spent again over the open grants (grantRemainders: expired and refunded ones are closed).
      const list = grants.get(slug) ?? [];
      const used = usage.get(slug) ?? { takes: new Map(), untrackedMicro: 0n };
      // as the two queries of usageByMeter count a row: its takes, or its purchased credits when it has none
      for (const d of pending) {
        for (const [id, micro] of d.takes) used.takes.set(id, (used.takes.get(id) ?? 0n) + micro);
        if (d.takes.size === 0) used.untrackedMicro += d.purchasedMicro;
      }
      const left = grantRemainders(list, used, now.getTime());
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
        const past = withRows(await this.periodUsage(t, c, slug, w.startMs, w.endMs, cut), pending, w.startMs, w.endMs);
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
      // a refunded purchase's grant keeps nothing, even when it was fully spent (nothing to revoke)
      `SELECT g.id, g.credit_system, g.credits_micro, g.revoked_micro, g.granted_at, g.expires_at, p.status = 'refunded' AS refunded
         FROM credit_grants g LEFT JOIN purchases p ON p.id = g.purchase_id
        WHERE g.tenant_id = $1 AND g.customer_id = $2 ORDER BY g.granted_at, g.id`,
      [t, c],
    );
    for (const r of rows) {
      const list = out.get(r.credit_system) ?? [];
      list.push({
        id: r.id,
        remainingMicro: r.credits_micro - r.revoked_micro,
        grantedAtMs: r.granted_at.getTime(),
        expiresAtMs: r.expires_at ? r.expires_at.getTime() : null,
        revoked: r.revoked_micro > 0n || r.refunded === true,
      });
      out.set(r.credit_system, list);
    }
    return out;
  }

  /**
   * All-time purchased usage per meter; FINAL collapses rows re-inserted by replays.
   * Takes per grant (grant ids are unique per customer), and the purchased credits of rows without takes.
   */
  private async usageByMeter(t: string, c: string, cut: number | null): Promise<Map<string, PurchasedUsage>> {
    const meter = sql`if(credit_system != '', credit_system, feature)`;
    const before = cut === null ? sql`1` : sql`ingested_at < ${new Date(cut)}`;
    const takes = await queryRows<{ meter: string; grant_id: string; micro: string }>(
      this.deps.clickhouse,
      sql`SELECT ${meter} AS meter, grant_id, toString(sum(take)) AS micro
            FROM ${this.table} FINAL ARRAY JOIN grant_ids AS grant_id, grant_takes AS take
           WHERE tenant_id = ${t} AND customer_id = ${c} AND reverted = 0 AND ${before}
           GROUP BY meter, grant_id`.text,
    );
    const untracked = await queryRows<UsageRow>(
      this.deps.clickhouse,
      sql`SELECT ${meter} AS meter, '0' AS plan, toString(sum(credits_purchased_micro)) AS purchased, '0' AS overage
            FROM ${this.table} FINAL
           WHERE tenant_id = ${t} AND customer_id = ${c} AND reverted = 0 AND empty(grant_ids) AND ${before}
           GROUP BY meter`.text,
    );
    const out = new Map<string, PurchasedUsage>();
    const of = (m: string) => out.get(m) ?? out.set(m, { takes: new Map(), untrackedMicro: 0n }).get(m)!;
    for (const r of takes) of(r.meter).takes.set(r.grant_id, BigInt(r.micro));
    for (const r of untracked) of(r.meter).untrackedMicro += BigInt(r.purchased);
    return out;
  }

  /** Plan and overage usage of one meter in its current period (rows are in the period they were applied in). */
  private async periodUsage(t: string, c: string, meter: string, startMs: number, endMs: number, cut: number | null = null) {
    if (cut !== null) endMs = Math.min(endMs, cut);
    if (endMs <= startMs) return { plan: 0n, overage: 0n };
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

  private async recentEventIds(t: string, c: string, now: Date): Promise<string[]> {
    const rows = await queryRows<{ event_id: string }>(
      this.deps.clickhouse,
      sql`SELECT DISTINCT event_id FROM ${this.table}
           WHERE tenant_id = ${t} AND customer_id = ${c} AND ingested_at >= ${new Date(now.getTime() - DEDUP_WINDOW_MS)}`.text,
    );
    return rows.map((r) => r.event_id);
  }

  /** The customer's rows applied from `cutMs` on, one by one, in the applied log's shape. */
  private async rowsSince(t: string, c: string, cutMs: number): Promise<InFlightDebit[]> {
    const rows = await queryRows<{ event_id: string; meter: string; plan: string; purchased: string; overage: string; at: string; ids: string[]; takes: string[] }>(
      this.deps.clickhouse,
      sql`SELECT event_id, if(credit_system != '', credit_system, feature) AS meter, toString(credits_plan_micro) AS plan,
                 toString(credits_purchased_micro) AS purchased, toString(credits_overage_micro) AS overage,
                 toString(toUnixTimestamp(ingested_at)) AS at, grant_ids AS ids, arrayMap(x -> toString(x), grant_takes) AS takes
            FROM ${this.table} FINAL
           WHERE tenant_id = ${t} AND customer_id = ${c} AND reverted = 0 AND ingested_at >= ${new Date(cutMs)}`.text,
    );
    return rows.map((r) => ({
      digest: idDigest(r.event_id).toString('hex'),
      meter: r.meter,
      planMicro: BigInt(r.plan),
      purchasedMicro: BigInt(r.purchased),
      overageMicro: BigInt(r.overage),
      appliedAtMs: Number(r.at) * 1000,
      takes: new Map(r.ids.map((id, i) => [id, BigInt(r.takes[i] ?? '0')])),
    }));
  }
}

/** Rows of debits the applied log does not hold (a logged debit counts from its entry instead). */
function notLogged(rows: InFlightDebit[], logged: InFlightDebit[]): InFlightDebit[] {
  const inLog = new Set(logged.map((d) => d.digest));
  return rows.filter((r) => !inLog.has(r.digest));
}

/**
 * Period usage from ClickHouse's part plus the rows and logged debits counted one by one, each in
 * [startMs, endMs) by its second (as ClickHouse compares ingested_at, so a later rebuild agrees).
 */
function withRows(u: { plan: bigint; overage: bigint }, rows: InFlightDebit[], startMs: number, endMs: number) {
  let { plan, overage } = u;
  const from = Math.floor(startMs / 1000);
  const to = Math.floor(endMs / 1000);
  for (const d of rows) {
    const sec = Math.floor(d.appliedAtMs / 1000);
    if (sec < from || sec >= to) continue;
    plan += d.planMicro;
    overage += d.overageMicro;
  }
  return { plan, overage };
}
