import type { PurchaseAnswer } from './billing-ops.ts';
import type { Apis } from './http.ts';
import { MICRO, type TenantModel } from './model.ts';
import { clickhouseRows } from './stack.ts';

export interface Divergence {
  tenant: string;
  customer: string | null;
  what: string;
  expected: string;
  actual: string;
}

export interface TenantHandle {
  label: string;
  tenantId: string;
  secret: string;
  model: TenantModel;
}

/** JSON credits (numbers with at most 6 decimals) back to exact micro-units. */
const toMicro = (n: unknown): bigint | null => (typeof n === 'number' ? BigInt(Math.round(n * 1e6)) : null);
const integer = (s: string): bigint | null => (/^-?\d+$/.test(s) ? BigInt(s) : null);
const show = (m: bigint) => `${m / MICRO}.${(m % MICRO).toString().padStart(6, '0')}`;

interface ChRow {
  customer_id: string;
  events: string;
  plan: string;
  purchased: string;
  overage: string;
}

/** What ClickHouse holds per customer (each event once: FINAL collapses replays of one id; reverted imports left out). */
export async function storedTotals(tenantId: string): Promise<Map<string, ChRow>> {
  if (!/^[0-9a-f-]{36}$/.test(tenantId)) throw new Error(`not a tenant id: ${tenantId}`);
  const rows = await clickhouseRows<ChRow>(
    `SELECT customer_id, toString(count()) AS events, toString(sum(credits_plan_micro)) AS plan,
            toString(sum(credits_purchased_micro)) AS purchased, toString(sum(credits_overage_micro)) AS overage
       FROM raw_usage_events_v1 FINAL WHERE tenant_id = '${tenantId}' AND reverted = 0 GROUP BY customer_id`,
  );
  return new Map(rows.map((r) => [r.customer_id, r]));
}

/** What the comparison reads from Redis (a server or a cluster). */
export interface RedisReader {
  hgetall(key: string): Promise<Record<string, string>>;
}

export async function compareTenant(apis: Apis, t: TenantHandle, redis: RedisReader): Promise<Divergence[]> {
  const out: Divergence[] = [];
  const diff = (customer: string | null, what: string, expected: bigint | number, actual: bigint | number | null) => {
    if (actual === null || BigInt(expected) !== BigInt(actual)) {
      const fmt = (v: bigint | number | null) => (v === null ? 'null' : typeof v === 'bigint' ? show(v) : String(v));
      out.push({ tenant: t.label, customer, what, expected: fmt(expected), actual: fmt(actual) });
    }
  };

  const stored = await storedTotals(t.tenantId);
  for (const c of t.model.customers.values()) {
    const s = stored.get(c.id);
    diff(c.id, 'ClickHouse events', c.totals.count, Number(s?.events ?? 0));
    diff(c.id, 'ClickHouse plan credits', c.totals.plan, BigInt(s?.plan ?? 0));
    diff(c.id, 'ClickHouse purchased credits', c.totals.purchased, BigInt(s?.purchased ?? 0));
    diff(c.id, 'ClickHouse overage credits', c.totals.overage, BigInt(s?.overage ?? 0));
  }

  const now = Date.now();
  for (const c of t.model.customers.values()) {
    for (const { meter, feature } of metersOf(t.model, c.id)) {
      const res = await apis.call(t.secret, 'POST', '/v1/check', { customer: c.id, feature, value: 0 });
      const body = res.body as { usage?: number | null; credits?: { addonBalance?: number } | null; code?: string };
      const terms = t.model.terms(c.id, meter);
      if (res.status !== 200) {
        out.push({ tenant: t.label, customer: c.id, what: `check ${feature}`, expected: '200', actual: `${res.status} ${JSON.stringify(body)}` });
        continue;
      }
      if (!terms.inPlan && body.usage === null) continue; // a standalone feature outside the plan: nothing to show
      diff(c.id, `${meter}: plan allowance used this period (check ${feature} usage)`, t.model.usedNow(c.id, meter, now), toMicro(body.usage));
      if (meter === feature) continue;
      diff(c.id, `${meter}: purchased credits left (check ${feature} addonBalance)`, t.model.purchasedLeft(c.id, meter), toMicro(body.credits?.addonBalance));
      // the check above (re)built the customer's state: each grant's remainder as the ledger in Redis holds it
      const held = await redis.hgetall(`tally:{${t.tenantId}:${c.id}}:grants:${meter}`);
      for (const g of c.grants.get(meter) ?? []) diff(c.id, `${meter}: grant ${g.id} remaining (Redis)`, g.remaining, integer(held[g.id] ?? '0'));
    }
  }

  for (const p of t.model.purchases.values()) {
    const res = await apis.call(t.secret, 'GET', `/v1/purchases/${p.reference}`);
    const a = res.body as PurchaseAnswer;
    const want = `${p.status} ${p.customer} ${p.pack} x${p.quantity} credits ${show(p.credits)} refund ${p.refund ? `${show(p.refund.revoked)}/${show(p.refund.spent)}` : 'none'}`;
    const got = res.status !== 200 ? `${res.status} ${JSON.stringify(a)}`
      : `${a.status} ${a.customer} ${a.pack} x${a.quantity} credits ${show(toMicro(a.credits) ?? -1n)} refund ${a.refund ? `${show(toMicro(a.refund.revokedCredits) ?? -1n)}/${show(toMicro(a.refund.spentCredits) ?? -1n)}` : 'none'}`;
    if (got !== want) out.push({ tenant: t.label, customer: p.customer, what: `GET /v1/purchases/${p.reference}`, expected: want, actual: got });
  }

  out.push(...(await compareUsage(apis, t)));
  return out;
}

/** Each meter the customer could have state on, with one feature that draws from it now. */
function metersOf(model: TenantModel, customer: string): { meter: string; feature: string }[] {
  const byMeter = new Map<string, string>();
  for (const f of model.catalog.features) {
    const r = model.route(customer, f.slug);
    if (r && !byMeter.has(r.meter)) byMeter.set(r.meter, f.slug);
  }
  return [...byMeter].map(([meter, feature]) => ({ meter, feature }));
}

interface UsageRow {
  bucket?: string;
  customer?: string;
  feature?: string;
  sumValue?: number;
  sumCredits?: number;
  count?: number;
}

/** GET /v1/usage per customer x feature x UTC day against the model's totals. */
async function compareUsage(apis: Apis, t: TenantHandle): Promise<Divergence[]> {
  const from = new Date(Date.now() - 3 * 86_400_000).toISOString();
  const to = new Date(Date.now() + 86_400_000).toISOString();
  const q = `/v1/usage?groupBy=customer,feature&window=day&aggregations=sum_value,sum_credits,count&limit=10000&from=${from}&to=${to}`;
  const res = await apis.call(t.secret, 'GET', q);
  if (res.status !== 200) return [{ tenant: t.label, customer: null, what: 'GET /v1/usage', expected: '200', actual: `${res.status} ${JSON.stringify(res.body)}` }];
  const actual = new Map<string, UsageRow>();
  for (const r of (res.body as { data: UsageRow[] }).data) actual.set(`${r.customer}|${r.feature}|${(r.bucket ?? '').slice(0, 10)}`, r);
  const out: Divergence[] = [];
  const expectedKeys = new Set<string>();
  for (const c of t.model.customers.values()) {
    for (const [key, cell] of c.usage) {
      const k = `${c.id}|${key}`;
      expectedKeys.add(k);
      const a = actual.get(k);
      const got = a ? `value ${show(toMicro(a.sumValue) ?? 0n)}, credits ${show(toMicro(a.sumCredits) ?? 0n)}, count ${a.count}` : 'no row';
      const want = `value ${show(cell.value)}, credits ${show(cell.credits)}, count ${cell.count}`;
      // a cell whose events were all reverted nets to zero: no row, or a row of zeros
      if (cell.count === 0 && cell.value === 0n && cell.credits === 0n && (!a || (a.count === 0 && !a.sumValue && !a.sumCredits))) continue;
      if (got !== want) out.push({ tenant: t.label, customer: c.id, what: `/v1/usage ${key}`, expected: want, actual: got });
    }
  }
  for (const [k, a] of actual) {
    if (!expectedKeys.has(k)) out.push({ tenant: t.label, customer: a.customer ?? null, what: `/v1/usage ${k}`, expected: 'no row', actual: JSON.stringify(a) });
  }
  return out;
}
