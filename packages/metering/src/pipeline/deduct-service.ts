import { creditsFor } from '@tally/core';
import type { DeductJob, PricedTerms, UsageEventMessage } from '@tally/contracts';
import { keys, type BatchCommand } from '@tally/redis';
import type { BatchingWriter } from '@tally/clickhouse';
import { AppError, counter, type Logger } from '@tally/runtime';
import type { MeteringDirectory } from '../directory.ts';
import type { Rebuilder } from '../rebuild.ts';
import { customerPlan, meterForFeature, pricedTerms, rolloverFor, type CustomerPlan } from '../meter-context.ts';
import { dedupGenerations, idDigest, ledgerScripts, meterKeys, messageFingerprint, rolloverArgv, seenKeys, withCustomerState, type LedgerStore } from '../ledger/index.ts';
import { withRedis } from '../redis-errors.ts';
import type { BalanceEvents } from '../balance-events.ts';
import { parseTakes, usageRow, type UsageRow } from './usage-row.ts';
import type { StoredEventIds } from './stored-event-ids.ts';

const outcomes = counter('tally_deduct_events_total', 'events seen by the deduct processor', ['outcome']);

const GRANT_TAKES = Buffer.from('#g');
const ROW_CLAIM = Buffer.from('#w');
/** How long a job's claim to write an event's row holds; longer than a batched insert, and a dead holder's claim lapses after it. */
const ROW_CLAIM_MS = 30_000;
const APPLIED = 1;
const REPLAYED = 2;
const DUPLICATE = 3;
const CONFLICT = 4;
const CLAIMED_ELSEWHERE = 5;
/** Values per event in deduct.var.lua's answer: status, plan, purchased, overage, applied-at, grant takes. */
const PER_EVENT = 6;
/**
 * Events whose feature was removed (or made boolean) after they were accepted
 * and that carry no priced terms: still stored, at 0 credits and flagged
 * `unmetered`, through this pseudo meter so the ledger dedups their rows too.
 */
const UNMETERED: PricedTerms = { meter: '~unmetered', creditSystem: '', costMicro: '0', limitMicro: '-1', periodStartMs: 0, periodEndMs: 0, plan: '' };
/** How long a job waits for this process to hold the catalog / customer state an event was accepted under. */
const FRESH_STATE_WAIT_MS = 2_000;

export interface DeductDeps {
  ledger: LedgerStore;
  rebuilder: Rebuilder;
  directory: MeteringDirectory;
  writer: BatchingWriter<UsageRow>;
  /** Read when a retried job replays events (see withoutStoredRows). */
  storedIds: StoredEventIds;
  logger: Logger;
  /** The process's balance-changed signal: each debited meter is reported once its rows are written. */
  events: BalanceEvents;
}

export interface DeductSummary {
  applied: number;
  replayed: number;
  duplicates: number;
  conflicts: number;
  unmetered: number;
  claimedElsewhere: number;
}

interface CustomerResult {
  rows: UsageRow[];
  /** Ids of rows whose events were applied by an earlier attempt (their row may be stored already). */
  replayedIds: Set<string>;
  digests: Buffer[];
  /** Each meter's balance after the debit, and when it was read (it is emitted after the rows are written). */
  balances: { meter: string; balanceMicro: bigint; atMs: number }[];
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
 * the rows are written again - except those ClickHouse already holds
 * (usage_event_ids_v1), because the rollup views count every inserted row: a
 * second copy would be collapsed in the raw table but counted twice in
 * usage_per_hour_v1 / usage_per_day_v1. Two jobs holding the same event
 * (a retry racing a redelivered batch) are kept apart by the row claim the
 * Lua call gives one of them (see claim_row in lib/ledger.lua).
 */
export class DeductService {
  constructor(private readonly deps: DeductDeps) {}

  /** `writer`: a token naming this job (its id), so its own retries keep their claim to write rows. */
  async apply(job: DeductJob, writer: string): Promise<DeductSummary> {
    const summary: DeductSummary = { applied: 0, replayed: 0, duplicates: 0, conflicts: 0, unmetered: 0, claimedElsewhere: 0 };
    const results = await Promise.all(job.customers.map((g) => this.applyCustomer(g.tenantId, g.customer, g.events, summary, writer)));
    const rows = await this.withoutStoredRows(job, results);
    await this.deps.writer.write(rows);
    await this.forgetApplied(job, results);
    for (const [i, r] of results.entries()) {
      const g = job.customers[i]!;
      for (const b of r.balances) this.deps.events.changed({ tenantId: g.tenantId, customerId: g.customer, creditSystem: b.meter, balanceMicro: b.balanceMicro, atMs: b.atMs });
    }
    outcomes.labels('applied').inc(summary.applied);
    outcomes.labels('replayed').inc(summary.replayed);
    outcomes.labels('duplicate').inc(summary.duplicates);
    outcomes.labels('conflict').inc(summary.conflicts);
    outcomes.labels('unmetered').inc(summary.unmetered);
    if (summary.claimedElsewhere > 0) {
      // Another job holds these events' rows; retry until it has written them (they become
      // duplicates) or its claim lapses (it died: this job writes them after the stored-row check).
      throw new AppError('RowsClaimedElsewhere', `${summary.claimedElsewhere} events are being written by another job`, { retryable: true });
    }
    return summary;
  }

  /**
   * One customer's events, in offset order. Each event is debited with the
   * terms it was accepted under (`priced`, stamped by the API); consecutive
   * events that share the terms of every meter they touch go in one Lua call,
   * so a plan change in the middle of a batch splits it, in order.
   */
  private async applyCustomer(t: string, c: string, events: UsageEventMessage[], summary: DeductSummary, writer: string): Promise<CustomerResult> {
    const terms = await this.termsOf(t, c, events);
    const result: CustomerResult = { rows: [], replayedIds: new Set(), digests: [], balances: [], build: null };
    const balances = new Map<string, { micro: bigint; atMs: number }>();
    let start = 0;
    while (start < events.length) {
      const seen = new Map<string, string>();
      let end = start;
      for (; end < events.length; end++) {
        const p = terms[end]!;
        const sig = `${p.periodStartMs}:${p.periodEndMs}:${p.limitMicro}`;
        const prior = seen.get(p.meter);
        if (prior !== undefined && prior !== sig) break;
        seen.set(p.meter, sig);
      }
      await this.applyRun(t, c, events.slice(start, end), terms.slice(start, end), summary, writer, result, balances);
      start = end;
    }
    result.balances = [...balances].filter(([meter]) => meter !== UNMETERED.meter).map(([meter, b]) => ({ meter, balanceMicro: b.micro, atMs: b.atMs }));
    return result;
  }

  /** The terms of each event: its stamped `priced`, or (unstamped messages) the worker's state, at least as new as the event's. */
  private async termsOf(t: string, c: string, events: UsageEventMessage[]): Promise<PricedTerms[]> {
    if (events.every((m) => m.priced)) return events.map((m) => m.priced!);
    const cp = await this.freshPlan(t, c, events);
    return events.map((m) => {
      if (m.priced) return m.priced;
      const resolved = meterForFeature(cp, m.feature);
      if (resolved.ok) return pricedTerms(cp, resolved.def, m.acceptedAt ?? Date.now());
      this.deps.logger.warn({ tenantId: t, customer: c, eventId: m.id, feature: m.feature }, 'event for a feature that is no longer metered: stored at 0 credits, flagged unmetered');
      return UNMETERED;
    });
  }

  /** Never decides on state older than the events': waits (bounded) for the caches to catch up, then retries the job. */
  private async freshPlan(t: string, c: string, events: UsageEventMessage[]): Promise<CustomerPlan> {
    const need = (f: 'catalogVersion' | 'customerVersion') => events.reduce((max, m) => (m[f] && BigInt(m[f]!) > max ? BigInt(m[f]!) : max), 0n);
    const catalogAtLeast = need('catalogVersion');
    const customerAtLeast = need('customerVersion');
    const deadline = Date.now() + FRESH_STATE_WAIT_MS;
    for (;;) {
      const cp = await customerPlan(this.deps.directory, t, c);
      if (cp.snapshot.version >= catalogAtLeast && cp.customerVersion >= customerAtLeast) return cp;
      if (Date.now() > deadline) {
        throw new AppError('state_behind', `catalog or customer state older than the events of ${c}; retrying`, { retryable: true });
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  private async applyRun(
    t: string,
    c: string,
    events: UsageEventMessage[],
    terms: PricedTerms[],
    summary: DeductSummary,
    writer: string,
    result: CustomerResult,
    balances: Map<string, { micro: bigint; atMs: number }>,
  ): Promise<void> {
    const { ledger, rebuilder, logger } = this.deps;
    const now = Date.now();
    const meters = new Map<string, { index: number; terms: PricedTerms }>();
    const digests: Buffer[] = [];
    const eventArgs: (string | number | Buffer)[] = [];
    events.forEach((m, i) => {
      const p = terms[i]!;
      let meter = meters.get(p.meter);
      if (!meter) {
        meter = { index: meters.size + 1, terms: p };
        meters.set(p.meter, meter);
      }
      const digest = idDigest(m.id);
      digests.push(digest);
      // grant expiry is judged at the instant the API accepted the event (as its price): independent of pipeline lag
      eventArgs.push(digest, messageFingerprint(m), meter.index, creditsFor(BigInt(m.valueMicro), BigInt(p.costMicro)).toString(), m.acceptedAt ?? now);
    });

    const gen = dedupGenerations(now);
    const meterList = [...meters.values()];
    const cp = await customerPlan(this.deps.directory, t, c);
    const k = [keys.hydrated(t, c), ...seenKeys(t, c, gen), keys.appliedLog(t, c), ...meterList.flatMap((x) => meterKeys(t, c, x.terms.meter))];
    const a = [
      now,
      gen.expireAtMs,
      meterList.length,
      writer,
      ROW_CLAIM_MS,
      // rollover: the plan's current terms (not stamped), windows from the customer's anchor
      ...meterList.flatMap((x) => [x.terms.periodStartMs, x.terms.periodEndMs, x.terms.limitMicro, ...rolloverArgv(x.terms.meter, x.terms.plan ? rolloverFor(cp, x.terms.plan, x.terms.meter, x.terms.periodStartMs) : null)]),
      ...eventArgs,
    ];
    let out: (number | string)[];
    for (;;) {
      out = await withCustomerState(rebuilder, t, c, async () => {
        const r = await ledger.run<(number | string)[]>(ledgerScripts.deduct, k, a);
        return r[0] === -1 ? -1 : r;
      });
      if (out[0] !== -2) break;
      const x = meterList[Number(out[1]) - 1]!.terms; // a meter rebuilt without a period: settle it, then debit
      await rebuilder.settlePeriod(t, c, x.meter, x.periodStartMs, x.periodEndMs);
    }

    events.forEach((m, i) => {
      const p = terms[i]!;
      const [status, plan, purchased, overage, appliedAt, taken] = out.slice(i * PER_EVENT, i * PER_EVENT + PER_EVENT) as [number, number, number, number, number, string];
      if (status === APPLIED || status === REPLAYED) {
        if (status === APPLIED) summary.applied++;
        else {
          summary.replayed++;
          result.replayedIds.add(m.id);
        }
        if (p === UNMETERED) summary.unmetered++;
        result.rows.push(usageRow(m, { plan, purchased, overage }, p.creditSystem, p.plan, appliedAt, p === UNMETERED, parseTakes(taken)));
        result.digests.push(digests[i]!);
      } else if (status === DUPLICATE) {
        summary.duplicates++;
      } else if (status === CLAIMED_ELSEWHERE) {
        summary.claimedElsewhere++;
      } else if (status === CONFLICT) {
        summary.conflicts++;
        logger.warn({ tenantId: t, customer: c, eventId: m.id }, 'event id reused with a different payload: not applied');
      }
    });
    const tail = out.slice(events.length * PER_EVENT) as number[];
    result.build = (out[out.length - 1] as unknown as string | null) ?? null;
    // stamped with the instant before the script ran: a read of this balance made after it is stamped later
    meterList.forEach((x, i) => balances.set(x.terms.meter, { micro: BigInt(Math.max(0, tail[i * 2]!)) + BigInt(tail[i * 2 + 1]!), atMs: now }));
  }

  /**
   * Drops the replayed rows ClickHouse already stored (an earlier attempt
   * inserted them, then died before completing its job). Only jobs with
   * replayed events pay for this lookup (strict-path check events, which were
   * debited before they reached the pipeline, and crash replays): one query
   * per tenant on the id index.
   */
  private async withoutStoredRows(job: DeductJob, results: CustomerResult[]): Promise<UsageRow[]> {
    const replayedByTenant = new Map<string, string[]>();
    results.forEach((r, i) => {
      if (r.replayedIds.size === 0) return;
      const t = job.customers[i]!.tenantId;
      replayedByTenant.set(t, [...(replayedByTenant.get(t) ?? []), ...r.replayedIds]);
    });
    const stored = new Set<string>();
    for (const [tenantId, ids] of replayedByTenant) {
      for (const id of await this.deps.storedIds.stored(tenantId, ids)) stored.add(`${tenantId}\u0000${id}`);
    }
    return results.flatMap((r, i) => {
      const t = job.customers[i]!.tenantId;
      return r.rows.filter((row) => !(r.replayedIds.has(row.event_id) && stored.has(`${t}\u0000${row.event_id}`)));
    });
  }

  /**
   * Rows are in ClickHouse: their splits need not be kept for replays any more.
   * If the customer's state was rebuilt (flush, lost Redis) after this job's
   * debits and before its rows were written, that build missed them: drop it
   * so the next use rebuilds again, now with these rows in ClickHouse.
   */
  private async forgetApplied(job: DeductJob, results: CustomerResult[]): Promise<void> {
    const { ledger, logger } = this.deps;
    // one round trip (on a Cluster one pipeline per customer's slot; each customer's four commands keep their order)
    const commands: BatchCommand[] = [];
    const watched: { i: number; build: string }[] = [];
    results.forEach((r, i) => {
      if (r.digests.length === 0) return;
      const g = job.customers[i]!;
      const key = keys.hydrated(g.tenantId, g.customer);
      // '#g' fields exist for strict-path (check) events: their grant takes, kept for an undo
      commands.push({ key, add: (p) => p.hdel(keys.appliedLog(g.tenantId, g.customer), ...r.digests.flatMap((d) => [d, Buffer.concat([d, GRANT_TAKES]), Buffer.concat([d, ROW_CLAIM])])) });
      // a strict-path event whose row is written needs no republishing
      commands.push({ key, add: (p) => p.hdel(keys.strictPending(g.tenantId, g.customer), ...r.digests) });
      commands.push({ key, add: (p) => p.incr(keys.rowsWritten(g.tenantId, g.customer)) });
      commands.push({ key, add: (p) => p.get(keys.hydrated(g.tenantId, g.customer)) });
      watched.push({ i, build: r.build ?? '' });
    });
    if (watched.length === 0) return;
    const replies = await withRedis(() => ledger.batch(commands));
    const stale = watched.flatMap((w, k) => {
      const current = replies[4 * k + 3]?.[1] as string | null | undefined;
      return current && current !== w.build ? [{ ...w, current }] : [];
    });
    for (const w of stale) {
      const g = job.customers[w.i]!;
      // compare-and-delete: only the build that missed these rows
      await withRedis(() =>
        ledger.compareAndDelete(keys.hydrated(g.tenantId, g.customer), w.current),
      );
      logger.info({ tenantId: g.tenantId, customer: g.customer }, 'state was rebuilt while debits were in flight; rebuilding again');
    }
  }
}
