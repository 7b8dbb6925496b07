import type { CatalogBody } from './catalog.ts';
import { periodAt } from './periods.ts';

/**
 * The reference model: what Tally must hold, computed in memory from the
 * documented rules and fed only with what Tally acknowledged. It never calls
 * Tally's code. Amounts are bigint micro-units (1 credit = 1,000,000).
 */
export const MICRO = 1_000_000n;

/** Exact micro-units of a decimal with at most 6 places (parsed from its text, no float arithmetic). */
export function micro(n: number): bigint {
  const [whole, frac = ''] = n.toFixed(6).split('.');
  return BigInt(whole!) * MICRO + BigInt(frac.padEnd(6, '0'));
}

/** value x cost, rounded half-up to a micro-credit. */
export const creditsOf = (valueMicro: bigint, costMicro: bigint) => (valueMicro * costMicro + MICRO / 2n) / MICRO;

export interface Grant {
  id: string;
  grantedAtMs: number;
  credits: bigint;
  /** Taken back by a refund (the unspent part at that moment). */
  revoked: bigint;
  remaining: bigint;
}
/** One line of an import file as the sim wrote it. */
export interface ImportLine {
  id: string;
  customer: string;
  feature: string;
  value: number;
  timestampMs: number;
}
/** An imported event that counts (a row in ClickHouse), with what it added, so a revert can take it back. */
export interface ImportedEvent {
  customer: string;
  usageKey: string;
  valueMicro: bigint;
  credits: bigint;
  /** Apply imports only: the debit's split and the period of the meter it went to. */
  debit: (Priced & { periodStart: number }) | null;
}
export interface ImportCounts {
  rowsRead: number;
  accepted: number;
  duplicates: number;
  rejected: number;
  flagged: number;
}
export interface ImportModel {
  id: string;
  mode: 'report' | 'apply';
  state: 'completed' | 'reverted';
  counts: ImportCounts;
  events: ImportedEvent[];
}
export interface MeterState {
  periodStart: number;
  used: bigint;
}
export interface Buckets {
  plan: bigint;
  purchased: bigint;
  overage: bigint;
  count: number;
}
export interface UsageCell {
  value: bigint;
  credits: bigint;
  count: number;
}
export interface CustomerModel {
  id: string;
  plan: string | null;
  anchorMs: number | null;
  meters: Map<string, MeterState>;
  /** Purchased grants per credit system. */
  grants: Map<string, Grant[]>;
  /** All-time split of what was applied (what ClickHouse must hold). */
  totals: Buckets;
  /** feature|UTC day -> usage (what /v1/usage must answer). */
  usage: Map<string, UsageCell>;
  /** A card saved at checkout: the next addon is charged at once. */
  hasCard: boolean;
}
export type PurchaseStatus = 'awaiting_payment' | 'completed' | 'refunded';
/** A pack purchase as Tally acknowledged it; its grant (id = reference) is in the customer's grants once completed. */
export interface PurchaseModel {
  reference: string;
  customer: string;
  pack: string;
  quantity: number;
  credits: bigint;
  status: PurchaseStatus;
  /** Set by the refund: the grant's unspent credits taken back, and what had been spent of it. */
  refund: { revoked: bigint; spent: bigint } | null;
}
export interface EventInput {
  id: string;
  customer: string;
  feature: string;
  value: number;
  timestampMs: number;
  /** The payload identity: same id and same fingerprint = duplicate, other fingerprint = conflict. */
  fingerprint: string;
}
export interface Priced {
  meter: string;
  system: string | null;
  credits: bigint;
  plan: bigint;
  purchased: bigint;
  overage: bigint;
}
export interface MeterTerms {
  limit: bigint | null;
  reset: string;
  overage: 'block' | 'charge';
  inPlan: boolean;
}

export const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);

export class TenantModel {
  catalog: CatalogBody;
  readonly customers = new Map<string, CustomerModel>();
  /** Every purchase by reference, in the order they were started. */
  readonly purchases = new Map<string, PurchaseModel>();
  /** Every completed import by id. */
  readonly imports = new Map<string, ImportModel>();
  /** Every id an event was applied with, and its payload fingerprint. */
  private readonly applied = new Map<string, string>();

  constructor(catalog: CatalogBody) {
    this.catalog = catalog;
  }

  addCustomer(id: string): CustomerModel {
    const c: CustomerModel = {
      id, plan: null, anchorMs: null, meters: new Map(), grants: new Map(),
      totals: { plan: 0n, purchased: 0n, overage: 0n, count: 0 }, usage: new Map(), hasCard: false,
    };
    this.customers.set(id, c);
    return c;
  }

  /** Attach or switch: a switch keeps the period (and what was used in it); the first attach anchors it. */
  attach(customer: string, plan: string, nowMs: number): void {
    const c = this.customer(customer);
    c.plan = plan;
    c.anchorMs ??= Math.floor(nowMs / 1000) * 1000;
  }

  /** Which meter a feature draws from and at what cost, under the catalog and the customer's plan now. */
  route(customer: string, feature: string): { meter: string; system: string | null; costMicro: bigint } | null {
    if (!this.catalog.features.some((f) => f.slug === feature)) return null;
    const system = this.catalog.creditSystems.find((s) => s.features.some((m) => m.feature === feature));
    if (!system) return { meter: feature, system: null, costMicro: MICRO };
    const member = system.features.find((m) => m.feature === feature)!;
    const override = this.planFeature(customer, feature)?.creditCost;
    return { meter: system.slug, system: system.slug, costMicro: micro(override ?? member.creditCost) };
  }

  terms(customer: string, meter: string): MeterTerms {
    const e = this.planFeature(customer, meter);
    if (!e || !e.enabled) return { limit: 0n, reset: 'never', overage: 'block', inPlan: false };
    return { limit: e.limit === null ? null : micro(e.limit), reset: e.reset, overage: e.overage, inPlan: true };
  }

  /** Whether an id was applied, and if so with the same payload. */
  seen(id: string, fingerprint: string): 'fresh' | 'duplicate' | 'conflict' {
    const f = this.applied.get(id);
    return f === undefined ? 'fresh' : f === fingerprint ? 'duplicate' : 'conflict';
  }

  /**
   * An acknowledged event: applied once per id (a repeat is a duplicate, a
   * repeat with another payload a conflict; neither is applied). Priced and
   * split under the catalog and plan in force now.
   */
  apply(e: EventInput, atMs: number): Priced | null {
    if (this.applied.has(e.id)) return null;
    const route = this.route(e.customer, e.feature);
    if (!route) return null;
    this.applied.set(e.id, e.fingerprint);
    const c = this.customer(e.customer);
    const valueMicro = micro(e.value);
    const credits = creditsOf(valueMicro, route.costMicro);
    const state = this.meterState(c, route.meter, atMs);
    const terms = this.terms(e.customer, route.meter);
    const planLeft = terms.limit === null ? credits : terms.limit > state.used ? terms.limit - state.used : 0n;
    const plan = credits < planLeft ? credits : planLeft;
    state.used += plan;
    let left = credits - plan;
    let purchased = 0n;
    for (const g of route.system ? this.grantsOf(c, route.system) : []) {
      if (left === 0n) break;
      const take = left < g.remaining ? left : g.remaining;
      g.remaining -= take;
      purchased += take;
      left -= take;
    }
    c.totals.plan += plan;
    c.totals.purchased += purchased;
    c.totals.overage += left;
    c.totals.count++;
    this.addUsage(c, `${e.feature}|${dayOf(e.timestampMs)}`, valueMicro, credits, 1);
    return { meter: route.meter, system: route.system, credits, plan, purchased, overage: left };
  }

  grant(customer: string, system: string, id: string, credits: bigint, grantedAtMs: number): void {
    const list = this.customer(customer).grants.get(system) ?? [];
    list.push({ id, grantedAtMs, credits, revoked: 0n, remaining: credits });
    this.customer(customer).grants.set(system, list);
  }

  /** A purchase paid (charged at once, or through checkout): its credits become a grant from now on. */
  completePurchase(p: PurchaseModel, system: string, atMs: number): void {
    p.status = 'completed';
    this.grant(p.customer, system, p.reference, p.credits, atMs);
  }

  /**
   * A refund (docs/billing.md): the grant's unspent credits are revoked, the
   * spent part is recorded and stays spent. Refunding again answers the same.
   */
  refund(p: PurchaseModel, system: string): { revoked: bigint; spent: bigint } {
    if (p.refund) return p.refund;
    const g = (this.customer(p.customer).grants.get(system) ?? []).find((x) => x.id === p.reference);
    if (!g) throw new Error(`model: no grant for purchase ${p.reference}`);
    p.refund = { revoked: g.remaining, spent: p.credits - g.remaining };
    g.revoked = g.remaining;
    g.remaining = 0n;
    p.status = 'refunded';
    return p.refund;
  }

  /**
   * An import Tally completed (docs/analytics/README.md): an id repeated in
   * the file, or already stored (live traffic or an import), is a duplicate.
   * Report: a known customer's line is kept whatever its feature (an unknown
   * one is flagged) at today's member cost (0 outside a credit system), with
   * no debit. Apply: an unknown feature is rejected, the rest is debited like
   * live traffic, in file order, under the catalog and plan now.
   */
  importFile(id: string, mode: 'report' | 'apply', lines: ImportLine[], atMs: number): ImportModel {
    const imp: ImportModel = { id, mode, state: 'completed', counts: { rowsRead: lines.length, accepted: 0, duplicates: 0, rejected: 0, flagged: 0 }, events: [] };
    const inFile = new Set<string>();
    for (const l of lines) {
      if (inFile.has(l.id)) {
        imp.counts.duplicates++;
        continue;
      }
      inFile.add(l.id);
      const known = this.catalog.features.some((f) => f.slug === l.feature);
      if (!known && mode === 'apply') {
        imp.counts.rejected++;
        continue;
      }
      if (this.applied.has(l.id)) {
        imp.counts.duplicates++;
        continue;
      }
      imp.counts.accepted++;
      const c = this.customer(l.customer);
      const valueMicro = micro(l.value);
      const usageKey = `${l.feature}|${dayOf(Math.floor(l.timestampMs / 1000) * 1000)}`;
      if (mode === 'apply') {
        const priced = this.apply({ ...l, fingerprint: '*' }, atMs)!;
        imp.events.push({ customer: l.customer, usageKey, valueMicro, credits: priced.credits, debit: { ...priced, periodStart: c.meters.get(priced.meter)!.periodStart } });
        continue;
      }
      if (!known) imp.counts.flagged++;
      this.applied.set(l.id, '*');
      const member = this.catalog.creditSystems.flatMap((s) => s.features).find((m) => m.feature === l.feature);
      const credits = member ? creditsOf(valueMicro, micro(member.creditCost)) : 0n;
      c.totals.count++;
      this.addUsage(c, usageKey, valueMicro, credits, 1);
      imp.events.push({ customer: l.customer, usageKey, valueMicro, credits, debit: null });
    }
    this.imports.set(id, imp);
    return imp;
  }

  /**
   * A revert: every event of the import leaves ClickHouse totals and
   * /v1/usage; for apply the customers' state is rebuilt from the grants
   * ledger and the usage left (docs/analytics/README.md), so the plan part
   * comes back to its period and purchased credits are re-spent oldest first.
   */
  revertImport(imp: ImportModel): void {
    if (imp.state === 'reverted') return;
    imp.state = 'reverted';
    const touched = new Set<string>();
    for (const e of imp.events) {
      const c = this.customer(e.customer);
      c.totals.count--;
      this.addUsage(c, e.usageKey, -e.valueMicro, -e.credits, -1);
      if (!e.debit) continue;
      touched.add(c.id);
      c.totals.plan -= e.debit.plan;
      c.totals.purchased -= e.debit.purchased;
      c.totals.overage -= e.debit.overage;
      const state = c.meters.get(e.debit.meter);
      if (state && state.periodStart === e.debit.periodStart) state.used -= e.debit.plan;
    }
    for (const id of touched) this.respendGrants(this.customer(id));
  }

  /**
   * What a rebuild computes: a refunded grant is closed, keeps nothing and stays charged with what it
   * had given (credits − revoked); the rest of the purchased usage is spent over the other grants
   * oldest first, each up to its credits. So a revert gives credits back to the open grants and never
   * to a refunded one. (One credit system in the sim, no expiring packs.)
   */
  private respendGrants(c: CustomerModel): void {
    for (const [system] of c.grants) {
      const grants = this.grantsOf(c, system);
      const refunded = (g: Grant) => this.purchases.get(g.id)?.status === 'refunded';
      let spent = c.totals.purchased;
      for (const g of grants) if (refunded(g)) spent -= g.credits - g.revoked;
      for (const g of grants) {
        if (refunded(g)) {
          g.remaining = 0n;
          continue;
        }
        const capacity = g.credits - g.revoked;
        const take = spent <= 0n ? 0n : spent < capacity ? spent : capacity;
        g.remaining = capacity - take;
        spent -= take;
      }
    }
  }

  private addUsage(c: CustomerModel, key: string, value: bigint, credits: bigint, count: number): void {
    const cell = c.usage.get(key) ?? { value: 0n, credits: 0n, count: 0 };
    cell.value += value;
    cell.credits += credits;
    cell.count += count;
    c.usage.set(key, cell);
  }

  /** Grants in spending order: oldest first, id as tie-break. */
  grantsOf(c: CustomerModel, system: string): Grant[] {
    return [...(c.grants.get(system) ?? [])].sort((a, b) => a.grantedAtMs - b.grantedAtMs || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  purchasedLeft(customer: string, system: string): bigint {
    return (this.customer(customer).grants.get(system) ?? []).reduce((s, g) => s + g.remaining, 0n);
  }

  /** Plan allowance used in the period containing `atMs` (a newer period starts from zero). */
  usedNow(customer: string, meter: string, atMs: number): bigint {
    return this.meterState(this.customer(customer), meter, atMs).used;
  }

  customer(id: string): CustomerModel {
    const c = this.customers.get(id);
    if (!c) throw new Error(`model: unknown customer ${id}`);
    return c;
  }

  private planFeature(customer: string, slug: string) {
    const plan = this.catalog.plans.find((p) => p.slug === this.customer(customer).plan);
    return plan?.features.find((f) => f.slug === slug);
  }

  private meterState(c: CustomerModel, meter: string, atMs: number): MeterState {
    const { start } = periodAt(c.anchorMs, this.terms(c.id, meter).reset, atMs);
    const s = c.meters.get(meter);
    if (s && s.periodStart >= start) return s;
    // a newer period: the allowance starts again (an older or equal one kept what was used, above)
    const fresh = { periodStart: start, used: 0n };
    c.meters.set(meter, fresh);
    return fresh;
  }
}
