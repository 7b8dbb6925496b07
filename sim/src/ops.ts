import { changeCatalog, featureSlugs, type CatalogBody, type CatalogChange } from './catalog.ts';
import type { Divergence, TenantHandle } from './compare.ts';
import type { Apis } from './http.ts';
import type { History } from './history.ts';
import type { EventInput, ImportModel } from './model.ts';
import type { Rng } from './rng.ts';

/**
 * The operations against Tally and how each acknowledgement feeds the model.
 * Generation is a pure function of the seed and of what the generator
 * planned (`Planned`: the catalog after the syncs it generated, its customers
 * and their plans), never of timing; what an operation draws while it runs
 * comes from its own Rng forked at generation.
 */
export interface OpContext {
  apis: Apis;
  history: History;
  divergences: Divergence[];
  /** Per tenant label: every event sent so far, with its payload and the op that sent it (for duplicates and conflicts). */
  sentBy: Map<string, SentEvent[]>;
}
/** What the generator has decided for a tenant so far (the model follows once Tally acknowledged it). */
export interface Planned {
  catalog: CatalogBody;
  customers: string[];
  plans: Map<string, string>;
  /** Customers an addon was generated for (refunds pick among them). */
  buyers: string[];
  /** Imports generated, with the customers of their file; `done` once Tally completed one (reverts pick among them). */
  imports: { customers: string[]; done: ImportModel | null }[];
}
export interface SentEvent {
  tenant: TenantHandle;
  event: EventInput;
  done: Promise<unknown>;
}

const VALUES: Record<string, number[]> = { gpt: [1, 2, 3], img: [1, 2, 4], tok: [1, 37, 250, 12.5], api: [1, 2, 5] };
export const valueFor = (rng: Rng, feature: string) => rng.pick(VALUES[feature] ?? [1, 3, 0.5]);

export const fingerprint = (feature: string, value: number, timestampMs: number) => `${feature}|${value}|${timestampMs}`;

/** A fresh event for a random customer of the tenant (stamped with its time when it is sent: `stamp`). */
export function freshEvent(rng: Rng, plan: Planned, seq: number): EventInput {
  const customer = rng.pick(plan.customers);
  const feature = rng.pick(featureSlugs(plan.catalog));
  const value = valueFor(rng, feature);
  return { id: `e${seq}-${rng.id('')}`, customer, feature, value, timestampMs: 0, fingerprint: '' };
}

/**
 * The event's time is when it is sent, not when it was generated: it may have
 * waited behind a barrier of its customer (a period boundary among them).
 */
export function stamp(e: EventInput): void {
  e.timestampMs = Date.now();
  e.fingerprint = fingerprint(e.feature, e.value, e.timestampMs);
}

/** An earlier id to send again: its original (the op waits for its answer, then sends it again or with another payload). */
export function reusedEvent(rng: Rng, ctx: OpContext, t: TenantHandle): SentEvent | null {
  const mine = ctx.sentBy.get(t.label) ?? [];
  if (mine.length === 0) return null;
  return rng.pick(mine.slice(-200));
}

/** The payload of a conflict: the original's id with another value (built once the original was sent). */
export function conflicting(e: EventInput): EventInput {
  const value = e.value + 1;
  return { ...e, value, fingerprint: fingerprint(e.feature, value, e.timestampMs) };
}

const body = (e: EventInput) => ({ id: e.id, customer: e.customer, feature: e.feature, value: e.value, timestamp: e.timestampMs });

export function unexpected(ctx: OpContext, t: TenantHandle, customer: string | null, what: string, status: number, answer: unknown) {
  ctx.divergences.push({ tenant: t.label, customer, what, expected: '2xx', actual: `${status} ${JSON.stringify(answer).slice(0, 300)}` });
  ctx.history.add(t.label, customer ? [customer] : [], `${what} -> ${status} (divergence)`);
}

/** The model takes an acknowledged event: applied if its id is new, else a duplicate or a conflict (not applied). */
function acknowledge(ctx: OpContext, t: TenantHandle, e: EventInput, via: string, status: string): void {
  const before = t.model.seen(e.id, e.fingerprint);
  const priced = t.model.apply(e, Date.now());
  const split = priced ? ` applied: ${priced.meter} ${priced.credits} micro = plan ${priced.plan} + purchased ${priced.purchased} + overage ${priced.overage}` : ` not applied (${before === 'fresh' ? 'no such feature' : before})`;
  ctx.history.add(t.label, [e.customer], `${via} ${e.id} ${e.feature} x${e.value} -> ${status};${split}`);
}

export async function track(ctx: OpContext, t: TenantHandle, e: EventInput): Promise<void> {
  const res = await ctx.apis.call(t.secret, 'POST', '/v1/track', body(e));
  if (res.status !== 200) return unexpected(ctx, t, e.customer, `track ${e.id} ${e.feature} x${e.value}`, res.status, res.body);
  const dup = (res.body as { details?: { duplicate?: boolean } }).details?.duplicate;
  acknowledge(ctx, t, e, `track@api${res.api + 1}${res.earlier.length ? ` (after ${res.earlier.join('; ')})` : ''}`, dup ? 'duplicate' : 'accepted');
}

export async function trackBatch(ctx: OpContext, t: TenantHandle, events: EventInput[]): Promise<void> {
  const res = await ctx.apis.call(t.secret, 'POST', '/v1/track/batch', { events: events.map(body) });
  if (res.status !== 200) return unexpected(ctx, t, null, `batch of ${events.length}`, res.status, res.body);
  const results = (res.body as { results: { index: number; status: string; error?: { code: string } }[] }).results;
  for (const r of results) {
    const e = events[r.index]!;
    if (r.status === 'rejected') unexpected(ctx, t, e.customer, `batch event ${e.id} ${e.feature} rejected`, 200, r.error);
    else acknowledge(ctx, t, e, `batch@api${res.api + 1}[${r.index}]`, r.status);
  }
}

interface CheckAnswer {
  allowed?: boolean;
  code?: string;
  details?: { debited?: boolean; duplicate?: boolean };
}

/** Strict check with sendEvent: the model takes the event only when Tally says it debited it. */
export async function strictCheck(ctx: OpContext, t: TenantHandle, e: EventInput): Promise<void> {
  const res = await ctx.apis.call(t.secret, 'POST', '/v1/check', { id: e.id, customer: e.customer, feature: e.feature, value: e.value, sendEvent: true });
  if (res.status === 409) return ctx.history.add(t.label, [e.customer], `check ${e.id} -> 409 conflict`);
  if (res.status !== 200) return unexpected(ctx, t, e.customer, `check ${e.id} ${e.feature} x${e.value}`, res.status, res.body);
  const a = res.body as CheckAnswer;
  const via = `check@api${res.api + 1}${res.earlier.length ? ` (after ${res.earlier.join('; ')})` : ''}`;
  if (a.allowed && (a.details?.debited || a.details?.duplicate)) acknowledge(ctx, t, e, via, `${a.code}${a.details.duplicate ? ' (duplicate)' : ''}`);
  else ctx.history.add(t.label, [e.customer], `check ${e.id} ${e.feature} x${e.value} -> denied ${a.code}`);
}

export async function attach(ctx: OpContext, t: TenantHandle, customer: string, plan: string): Promise<void> {
  const res = await ctx.apis.call(t.secret, 'POST', '/v1/attach', { customer, product: plan });
  if (res.status !== 200) return unexpected(ctx, t, customer, `attach ${customer} ${plan}`, res.status, res.body);
  t.model.attach(customer, plan, Date.now());
  ctx.history.add(t.label, [customer], `attach ${plan}`);
}

export async function newCustomer(ctx: OpContext, t: TenantHandle, id: string, plan: string): Promise<void> {
  const res = await ctx.apis.call(t.secret, 'POST', '/v1/customers', { id, email: `${id}@sim.example` });
  if (res.status >= 300) return unexpected(ctx, t, id, `create customer ${id}`, res.status, res.body);
  t.model.addCustomer(id);
  ctx.history.add(t.label, [id], `customer ${id} created`);
  await attach(ctx, t, id, plan);
}

const CHANGES: CatalogChange[] = ['cost', 'cost', 'add-feature', 'add-member', 'remove-member', 'add-pack', 'archive-pack', 'plan-limit', 'plan-limit', 'plan-overage', 'plan-reset'];

/**
 * One sync of 1-3 catalog changes drawn over the planned catalog, applied in
 * order to one body (fewer barriers for as many changes); null when none was
 * possible now.
 */
export function drawChange(plan: Planned, rng: Rng, counter: number, allowReset: boolean): { body: CatalogBody; what: string } | null {
  let body = plan.catalog;
  const what: string[] = [];
  for (let k = rng.int(1, 3); k > 0; k--) {
    const change = changeCatalog(body, rng.pick(CHANGES), rng, counter * 10 + k, allowReset);
    if (!change) continue;
    body = change.body;
    what.push(change.what);
  }
  return what.length ? { body, what: what.join('; ') } : null;
}

export async function syncChange(ctx: OpContext, t: TenantHandle, change: { body: CatalogBody; what: string }): Promise<void> {
  const res = await ctx.apis.call(t.secret, 'POST', '/v1/sync', change.body);
  if (res.status !== 200) return unexpected(ctx, t, null, `sync: ${change.what}`, res.status, res.body);
  t.model.catalog = change.body;
  ctx.history.add(t.label, [], `sync: ${change.what}`);
}
