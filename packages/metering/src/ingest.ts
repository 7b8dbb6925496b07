import { randomUUID } from 'node:crypto';
import { toMicro, type CatalogSnapshot, type MeterDef } from '@tally/core';
import {
  MAX_BATCH_EVENTS,
  type TrackEventInput,
  type PricedTerms,
  type TrackResult,
  type UsageEventMessage,
} from '@tally/contracts';
import type { EventProducer } from '@tally/kafka';
import { AppError, counter, LruCache, notFound, type ErrorFactory, type Logger } from '@tally/runtime';
import { meteringErrors } from './errors.ts';
import { execBatch, keys, type BatchCommand, type RedisClient } from '@tally/redis';
import type { MeteringDirectory } from './directory.ts';
import type { Rebuilder } from './rebuild.ts';
import { dedupGenerations, idDigest, messageFingerprint, RedisLedgerStore, runCheckScript, DEDUP_WINDOW_MS, type LedgerStore } from './ledger/index.ts';
import { liveEventMessage } from './messages.ts';
import { creditsFit, creditsOverflowError, parseTrackEvent } from './ingest-validate.ts';
import { withRedis } from './redis-errors.ts';
import { customerPlan, meterArgs, meterForFeature, planFor, pricedTerms, type CustomerPlan } from './meter-context.ts';
import { balanceFields, emptyFields, type BalanceFields } from './answer.ts';

const MAX_AHEAD_MS = 5 * 60_000;
/** Micro-units as text; whole amounts (the usual case) without the decimal parser. */
const valueMicroText = (v: number): string => (Number.isSafeInteger(v) && v <= 9_007_199_254 ? (v === 0 ? '0' : `${v}000000`) : toMicro(v).toString());

/** The code of a customer the directory refused to create (the tenant's creation limit; 429 for a single event). */
export const CUSTOMER_RATE_LIMITED = 'customer_rate_limited';

const tracked = counter('tally_track_events_total', 'events answered by track', ['status']);

export interface IngestDeps {
  redis: RedisClient;
  rebuilder: Rebuilder;
  directory: MeteringDirectory;
  producer: EventProducer;
  topic: string;
  logger: Logger;
}

/** A line of an NDJSON body that is not JSON. */
export const UNPARSABLE = Symbol('unparsable');

interface Candidate {
  index: number;
  message: UsageEventMessage;
  /** False when the app sent no timestamp (it is then the acceptance time, and a resend's differs). */
  timestampGiven: boolean;
  customerData: TrackEventInput['customerData'];
}

export interface BatchOutcome {
  results: TrackResult[];
  accepted: number;
  duplicates: number;
  conflicts: number;
  rejected: number;
}

/** Tenant × customer pairs an API process remembers as existing. */
export const KNOWN_CUSTOMERS_MAX = 100_000;

/**
 * Where usage enters Tally: validate each event on its own, then produce
 * the good ones to Kafka (acks=all) and answer only after the broker
 * acknowledged them. If Kafka fails, the whole request fails (503) and no
 * event is reported accepted.
 */
export class IngestService {
  // Customers known to exist (they are never deleted): no catalog lookup per event for them. Bounded: the least
  // recently seen are forgotten first and cost one `ensure` again when they come back.
  private readonly knownCustomers: LruCache<string, true>;
  private readonly ledger: LedgerStore;

  constructor(
    private readonly deps: IngestDeps,
    knownCustomersMax = KNOWN_CUSTOMERS_MAX,
  ) {
    this.knownCustomers = new LruCache(knownCustomersMax);
    this.ledger = new RedisLedgerStore(deps.redis);
  }

  /** Customers held as known (never more than the cap). */
  get knownCustomerCount(): number {
    return this.knownCustomers.size;
  }

  async trackBatch(tenantId: string, events: unknown[]): Promise<BatchOutcome> {
    return (await this.ingest(tenantId, events)).outcome;
  }

  /** The batch's outcome, and why the customers refused by the creation limit were refused (429s). */
  private async ingest(tenantId: string, events: unknown[]): Promise<{ outcome: BatchOutcome; limited: Map<string, AppError> }> {
    if (events.length > MAX_BATCH_EVENTS) {
      throw meteringErrors.payload_too_large(`at most ${MAX_BATCH_EVENTS} events per request`);
    }
    const snapshot = await this.deps.directory.snapshot(tenantId);
    const now = Date.now();
    const results: TrackResult[] = new Array(events.length);
    // id -> index (in candidates) of its first occurrence in this request
    const inRequest = new Map<string, number>();
    const candidates: Candidate[] = [];
    events.forEach((raw, index) => {
      const verdict = this.validate(tenantId, snapshot, raw, now);
      if ('error' in verdict) {
        results[index] = { index, id: verdict.id, status: 'rejected', error: verdict.error };
        return;
      }
      const id = verdict.message.id;
      const firstAt = inRequest.get(id);
      if (firstAt !== undefined) {
        const first = candidates[firstAt]!;
        const same = messageFingerprint(first.message).equals(messageFingerprint(verdict.message));
        results[index] = { index, id, status: same ? 'duplicate' : 'conflict' };
        return;
      }
      inRequest.set(id, candidates.length);
      candidates.push({ index, message: verdict.message, customerData: verdict.customerData, timestampGiven: verdict.timestampGiven });
    });

    const limited = await this.ensureCustomers(tenantId, candidates);
    // new customers past the tenant's creation limit: their events are rejected, the others go on
    const admitted = candidates.filter((c) => {
      const refusal = limited.get(c.message.customer);
      if (refusal) results[c.index] = { index: c.index, id: c.message.id, status: 'rejected', error: { code: refusal.code, message: refusal.message } };
      return !refusal;
    });
    const seen = await this.alreadySeen(tenantId, admitted, now);
    const fresh = admitted.filter((c, i) => {
      const stored = seen[i];
      if (stored === null || stored === undefined) return true;
      // without its own timestamp a resend cannot be told from a changed payload by the fingerprint: a duplicate
      const same = stored === '*' || !c.timestampGiven || Buffer.from(stored, 'latin1').equals(messageFingerprint(c.message));
      results[c.index] = { index: c.index, id: c.message.id, status: same ? 'duplicate' : 'conflict' };
      return false;
    });
    const priced = await this.stamp(tenantId, snapshot, fresh, now, results);
    // Only after the broker acknowledged every message is any of them "accepted".
    await this.deps.producer.send(this.deps.topic, priced.map((c) => liveEventMessage(c.message)));
    for (const c of priced) results[c.index] = { index: c.index, id: c.message.id, status: 'accepted' };

    const outcome = { results, accepted: priced.length, duplicates: 0, conflicts: 0, rejected: 0 };
    for (const r of results) {
      if (r.status === 'duplicate') outcome.duplicates++;
      if (r.status === 'conflict') outcome.conflicts++;
      if (r.status === 'rejected') outcome.rejected++;
    }
    tracked.labels('accepted').inc(outcome.accepted);
    tracked.labels('duplicate').inc(outcome.duplicates);
    tracked.labels('conflict').inc(outcome.conflicts);
    tracked.labels('rejected').inc(outcome.rejected);
    return { outcome, limited };
  }

  /**
   * Priced as accepted: each message carries the catalog version, the
   * customer's context version and the terms (meter, credit cost, plan limit,
   * period) in force now, from the same snapshot the event was validated
   * against. The workers debit with these terms, so a sync or an attach that
   * lands while the event is in flight cannot reprice it.
   */
  private async stamp(tenantId: string, snapshot: CatalogSnapshot, fresh: Candidate[], now: number, results: TrackResult[]): Promise<Candidate[]> {
    const plans = new Map<string, CustomerPlan>();
    // cached contexts answer at once; ones to load go a few at a time (the Postgres pool is shared)
    const customers = [...new Set(fresh.map((c) => c.message.customer))];
    let next = 0;
    const lane = async () => {
      while (next < customers.length) {
        const customer = customers[next++]!;
        plans.set(customer, planFor(snapshot, await this.deps.directory.context(tenantId, customer)));
      }
    };
    await Promise.all(Array.from({ length: Math.min(8, customers.length) }, lane));
    const catalogVersion = snapshot.version.toString();
    // one resolution per customer x feature: the events of a batch share their terms object
    const terms = new Map<string, { def: MeterDef; priced: PricedTerms } | null>();
    return fresh.filter((c) => {
      const { customer, feature } = c.message;
      const cp = plans.get(customer)!;
      const key = `${customer}\u0000${feature}`;
      let t = terms.get(key);
      if (t === undefined) {
        const resolved = meterForFeature(cp, feature);
        // validate() already refused unknown and boolean features of this snapshot
        t = resolved.ok ? { def: resolved.def, priced: pricedTerms(cp, resolved.def, now) } : null;
        terms.set(key, t);
      }
      c.message.catalogVersion = catalogVersion;
      c.message.customerVersion = cp.customerVersion.toString();
      if (!t) return true;
      const valueMicro = BigInt(c.message.valueMicro);
      if (!creditsFit(valueMicro, t.def.costMicro)) {
        results[c.index] = { index: c.index, id: c.message.id, status: 'rejected', error: creditsOverflowError(feature, valueMicro, t.def.costMicro) };
        return false;
      }
      c.message.priced = t.priced;
      return true;
    });
  }

  /** POST /v1/track: one event, answered with the balance as Tally knows it now. */
  async trackOne(tenantId: string, input: TrackEventInput, idempotencyKey?: string) {
    const event = { ...input, id: input.id ?? idempotencyKey };
    const { outcome, limited } = await this.ingest(tenantId, [event]);
    const r = outcome.results[0]!;
    if (r.status === 'rejected') {
      const refusal = limited.get(input.customer);
      if (refusal) throw refusal;
      const { code, message } = r.error!;
      // an event's refusal is metering's code, or the catalog's feature_not_found (404)
      const declared = (meteringErrors as unknown as Partial<Record<string, ErrorFactory>>)[code];
      throw declared ? declared(message) : notFound(code, message);
    }
    const fields = await this.balanceNow(tenantId, input.customer, input.feature);
    return {
      success: true as const,
      code: 'tracked' as const,
      id: r.id!,
      ...fields,
      details: { message: r.status === 'duplicate' ? 'event already tracked' : 'event accepted', duplicate: r.status === 'duplicate' },
    };
  }

  private validate(tenantId: string, snapshot: CatalogSnapshot, raw: unknown, now: number):
    | { message: UsageEventMessage; customerData: TrackEventInput['customerData']; timestampGiven: boolean }
    | { id: string | null; error: { code: string; message: string } } {
    const rawId = typeof raw === 'object' && raw !== null && typeof (raw as { id?: unknown }).id === 'string' ? (raw as { id: string }).id : null;
    if (raw === UNPARSABLE) return { id: null, error: { code: 'invalid_json', message: 'line is not valid JSON' } };
    const parsed = parseTrackEvent(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return { id: rawId, error: { code: 'invalid_event', message: issue ? `${issue.path.join('.') || 'event'}: ${issue.message}` : 'invalid event' } };
    }
    const e = parsed.data;
    const feature = snapshot.features.get(e.feature);
    if (!feature) return { id: rawId, error: { code: 'feature_not_found', message: `feature ${e.feature} does not exist` } };
    if (feature.type !== 'metered') return { id: rawId, error: { code: 'feature_not_metered', message: `feature ${e.feature} is not metered` } };
    const timestamp = e.timestamp === undefined ? now : typeof e.timestamp === 'number' ? e.timestamp : Date.parse(e.timestamp);
    if (timestamp < now - DEDUP_WINDOW_MS || timestamp > now + MAX_AHEAD_MS) {
      return { id: rawId, error: { code: 'timestamp_out_of_range', message: 'timestamp must be within the last 35 days and at most 5 minutes ahead' } };
    }
    return {
      message: {
        tenantId,
        id: e.id ?? randomUUID(),
        customer: e.customer,
        feature: e.feature,
        valueMicro: valueMicroText(e.value),
        timestamp,
        acceptedAt: now,
        entity: e.entity ?? null,
        properties: e.properties,
        source: 'live',
      },
      customerData: e.customerData,
      timestampGiven: e.timestamp !== undefined,
    };
  }

  /**
   * Unknown customers are created on first use; known ones cost nothing.
   * Answers the customers the directory refused to create (AppError
   * `customer_rate_limited`, the tenant's creation limit); any other error fails the request.
   */
  private async ensureCustomers(tenantId: string, candidates: Candidate[]): Promise<Map<string, AppError>> {
    const limited = new Map<string, AppError>();
    const ensure = this.deps.directory.ensure?.bind(this.deps.directory);
    if (!ensure) return limited;
    const missing = new Map<string, TrackEventInput['customerData']>();
    for (const c of candidates) {
      const key = `${tenantId}\u0000${c.message.customer}`;
      if (this.knownCustomers.get(key)) continue;
      if (!missing.has(key) || (!missing.get(key) && c.customerData)) missing.set(key, c.customerData);
    }
    // a few at a time: a batch naming thousands of new customers must not drain the Postgres pool
    const queue = [...missing];
    const lane = async () => {
      for (let next = queue.shift(); next; next = queue.shift()) {
        const [key, data] = next;
        const customer = key.slice(tenantId.length + 1);
        try {
          await ensure(tenantId, customer, data ?? null);
        } catch (err) {
          if (!(err instanceof AppError && err.code === CUSTOMER_RATE_LIMITED)) throw err;
          limited.set(customer, err);
          continue;
        }
        this.knownCustomers.set(key, true);
      }
    };
    await Promise.all(Array.from({ length: Math.min(4, queue.length) }, lane));
    return limited;
  }

  /**
   * Ids this customer already had applied (best effort here; the Lua ledger is
   * the real guard): one HMGET per customer and generation, one pipelined round trip.
   */
  private async alreadySeen(tenantId: string, candidates: Candidate[], now: number): Promise<(string | null)[]> {
    if (candidates.length === 0) return [];
    const gen = dedupGenerations(now);
    const byCustomer = new Map<string, number[]>();
    candidates.forEach((c, i) => {
      const list = byCustomer.get(c.message.customer);
      if (list) list.push(i);
      else byCustomer.set(c.message.customer, [i]);
    });
    const commands: BatchCommand[] = [];
    const order: number[][] = [];
    for (const [customer, indexes] of byCustomer) {
      const digests = indexes.map((i) => idDigest(candidates[i]!.message.id));
      for (const generation of [gen.current, gen.previous]) {
        const key = keys.seenEvents(tenantId, customer, generation);
        commands.push({ key, add: (p) => p.hmgetBuffer(key, ...digests) });
      }
      order.push(indexes);
    }
    const replies = await withRedis(async () => {
      const out = await execBatch(this.deps.redis, commands);
      for (const [err] of out) if (err) throw err;
      return out.map(([, v]) => v as (Buffer | null)[]);
    });
    // the stored fingerprint as latin1 text ('*' = applied, payload unknown after a rebuild), null = not seen
    const seen = new Array<string | null>(candidates.length).fill(null);
    order.forEach((indexes, k) => {
      const cur = replies[2 * k]!;
      const prev = replies[2 * k + 1]!;
      indexes.forEach((i, j) => {
        const v = cur[j] ?? prev[j] ?? null;
        seen[i] = v === null ? null : v.toString('latin1');
      });
    });
    return seen;
  }

  private async balanceNow(tenantId: string, customer: string, feature: string): Promise<BalanceFields> {
    const cp = await customerPlan(this.deps.directory, tenantId, customer);
    const resolved = meterForFeature(cp, feature);
    if (!resolved.ok) return emptyFields;
    const s = await runCheckScript(this.ledger, this.deps.rebuilder, tenantId, customer, meterArgs(cp, resolved.def, new Date()), {
      neededMicro: 0n,
      send: null,
    });
    return balanceFields(resolved.def, s);
  }
}
