import { randomUUID } from 'node:crypto';
import { initialCatalog, PLANS } from './catalog.ts';
import { compareTenant, settled, type Divergence, type TenantHandle } from './compare.ts';
import { crossPeriod, deleteCustomerKeys, flushRedis, killOne, restartBroker, type Fault } from './faults.ts';
import { History } from './history.ts';
import { Apis } from './http.ts';
import { TenantModel } from './model.ts';
import { addon, refund } from './billing-ops.ts';
import { importLines, revertImport, runImport } from './import-ops.ts';
import { attach, freshEvent, newCustomer, reusedEvent, strictCheck, syncChange, track, trackBatch, type OpContext } from './ops.ts';
import { Rng } from './rng.ts';
import { Stack } from './stack.ts';

export interface RunOptions {
  seed: number;
  ops: number;
  profile: 'default' | 'wide';
  faults: Fault[];
  redisDb: number;
  concurrency?: number;
  /** Weights over the defaults (e.g. { addon: 20 } for a purchase-heavy run). */
  weights?: Record<string, number>;
  /** A stack already running (several seeds in one test); started and stopped here when absent. */
  stack?: Stack;
  log?: (line: string) => void;
}

export interface RunResult {
  seed: number;
  ops: number;
  faults: Fault[];
  counts: Record<string, number>;
  wallMs: number;
  divergences: Divergence[];
  /** The first divergence with the history that led to it (empty when none). */
  report: string;
  /** What the model ended with, to show a run exercised what it claims (purchases by status, credits by bucket). */
  summary: string;
  /** The whole history (every tenant and customer), for a divergence the first one's history does not explain. */
  history: string[];
}

export type Kind = 'track' | 'batch' | 'check' | 'duplicate' | 'conflict' | 'sync' | 'attach' | 'customer' | 'addon' | 'refund' | 'import-report' | 'import-apply' | 'revert' | Fault;

const BASE_WEIGHTS = { track: 28, batch: 18, check: 22, duplicate: 6, conflict: 4, sync: 4, attach: 4, customer: 2, addon: 4, refund: 2.5, 'import-report': 1.5, 'import-apply': 1.5, revert: 1.5 };
const FAULT_WEIGHT: Record<Fault, number> = { kill: 1, flush: 0.7, keys: 1, clickhouse: 0.8, period: 1, broker: 0.5 };
const MAX_CUSTOMERS = 6;

export async function runSimulation(opts: RunOptions): Promise<RunResult> {
  const started = Date.now();
  const log = opts.log ?? (() => {});
  const rng = new Rng(opts.seed);
  const run = `${opts.seed}-${randomUUID().slice(0, 6)}`;
  const wantsBroker = opts.faults.includes('broker');
  if (opts.stack && wantsBroker && !opts.stack.broker) throw new Error('the broker fault needs a stack started with privateBroker: true');
  const stack = opts.stack ?? (await Stack.start({ run, redisDb: opts.redisDb, privateBroker: wantsBroker, log }));
  log(`stack up in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  let barrierMs = 0;
  const history = new History();
  // a broker restart takes a JVM start (40 s on a loaded 2-core machine): requests retry for longer then
  const ctx: OpContext = { apis: new Apis(stack.apis.map((a) => a.url), wantsBroker ? 180_000 : 45_000), history, divergences: [], sent: [] };
  const counts: Record<string, number> = {};
  const inFlight = new Set<Promise<void>>();
  let clickhouseBack: Promise<void> | null = null;

  try {
    const tenants: TenantHandle[] = [];
    for (const label of ['t1', 't2']) {
      const { tenantId, secret } = await stack.newTenant(`sim-${label}`);
      const t: TenantHandle = { label, tenantId, secret, model: new TenantModel(initialCatalog()) };
      const res = await ctx.apis.call(secret, 'POST', '/v1/sync', t.model.catalog);
      if (res.status !== 200) throw new Error(`initial sync: ${res.status} ${JSON.stringify(res.body)}`);
      for (let i = 0; i < 3; i++) await newCustomer(ctx, t, rng, `${label}-c${i}`);
      tenants.push(t);
    }
    const weights: Record<string, number> = { ...BASE_WEIGHTS };
    for (const f of opts.faults) weights[f] = FAULT_WEIGHT[f];
    for (const [k, w] of Object.entries(opts.weights ?? {})) {
      if (!(k in weights)) throw new Error(`unknown operation "${k}" in weights (known: ${Object.keys(weights).join(', ')})`);
      weights[k] = w;
    }

    const launch = (p: Promise<void>): Promise<void> => {
      const tracked: Promise<void> = p
        .catch((err: unknown) => {
          ctx.divergences.push({ tenant: '*', customer: null, what: 'operation failed', expected: 'an answer', actual: String(err) });
        })
        .finally(() => inFlight.delete(tracked));
      inFlight.add(tracked);
      return tracked;
    };
    const room = async () => {
      while (inFlight.size >= (opts.concurrency ?? 6)) await Promise.race(inFlight);
    };
    // A barrier: every in-flight operation acknowledged and applied (stored rows match the model) before a change.
    let stuck = false;
    const barrier = async () => {
      const t0 = Date.now();
      await Promise.all(inFlight);
      barrierMs -= Date.now() - t0;
      if (clickhouseBack) await clickhouseBack;
      for (const t of tenants) stuck ||= !(await waitSettled(t, [...t.model.customers.keys()], 30_000, ctx, history));
      barrierMs += Date.now() - t0;
    };
    // A customer's barrier (purchases, refunds): its events sent so far answered and stored; others keep flowing.
    const customerBarrier = async (t: TenantHandle, customer: string) => {
      const t0 = Date.now();
      await Promise.all(ctx.sent.filter((s) => s.tenant === t && s.event.customer === customer).map((s) => s.done));
      if (clickhouseBack) await clickhouseBack;
      stuck ||= !(await waitSettled(t, [customer], 30_000, ctx, history));
      barrierMs += Date.now() - t0;
    };

    for (let seq = 1; seq <= opts.ops && !stuck; seq++) {
      const t = rng.pick(tenants);
      const kind = rng.weighted(weights) as Kind;
      counts[kind] = (counts[kind] ?? 0) + 1;
      switch (kind) {
        case 'track':
        case 'check': {
          const e = freshEvent(rng, t, seq);
          const done = launch(kind === 'track' ? track(ctx, t, e) : strictCheck(ctx, t, e));
          ctx.sent.push({ tenant: t, event: e, done });
          await room();
          break;
        }
        case 'batch': {
          const events = Array.from({ length: rng.int(2, 25) }, (_, i) => freshEvent(rng, t, seq * 100 + i));
          if (rng.chance(0.3)) events.push({ ...events[0]! }); // the same id twice in one request
          const done = launch(trackBatch(ctx, t, events));
          for (const e of events) ctx.sent.push({ tenant: t, event: e, done });
          await room();
          break;
        }
        case 'duplicate':
        case 'conflict': {
          const again = reusedEvent(rng, ctx, t, kind === 'conflict');
          if (!again) {
            counts[kind]!--; // nothing to do: not counted as run
            break;
          }
          await again.done; // the original was answered first, so the model knows which payload came first
          launch(track(ctx, t, again.event));
          await room();
          break;
        }
        case 'sync':
          await barrier();
          if (stuck) break;
          await syncChange(ctx, t, rng, seq, opts.profile === 'wide');
          break;
        case 'attach': {
          await barrier();
          const customer = rng.pick([...t.model.customers.keys()]);
          await attach(ctx, t, customer, rng.pick(PLANS.filter((p) => p !== t.model.customer(customer).plan)));
          break;
        }
        case 'customer':
          if (t.model.customers.size >= MAX_CUSTOMERS) {
            counts[kind]!--; // nothing to do: not counted as run
            break;
          }
          await barrier();
          await newCustomer(ctx, t, rng, `${t.label}-c${t.model.customers.size}`);
          break;
        case 'addon': {
          const customer = rng.pick([...t.model.customers.keys()]);
          await customerBarrier(t, customer);
          if (stuck) break;
          await addon(ctx, t, rng, customer, seq);
          break;
        }
        case 'refund': {
          const purchases = [...t.model.purchases.values()];
          if (purchases.length === 0) {
            counts[kind]!--; // nothing to do: not counted as run
            break;
          }
          const p = rng.pick(purchases);
          await customerBarrier(t, p.customer);
          if (stuck) break;
          await refund(ctx, t, p);
          break;
        }
        case 'import-report':
        case 'import-apply': {
          const mode = kind === 'import-report' ? 'report' : 'apply';
          await barrier();
          if (stuck) break;
          await runImport(ctx, t, mode, importLines(rng, ctx, t, mode, seq));
          // an apply import's events reach ClickHouse through the pipeline: settled before anything else
          stuck ||= !(await waitSettled(t, [...t.model.customers.keys()], 30_000, ctx, history));
          break;
        }
        case 'revert': {
          const imports = [...t.model.imports.values()].filter((i) => i.state === 'completed');
          if (imports.length === 0) {
            counts[kind]!--; // nothing to do: not counted as run
            break;
          }
          const imp = rng.pick(imports);
          await barrier();
          if (stuck) break;
          await revertImport(ctx, t, imp);
          break;
        }
        case 'kill': {
          const what = await killOne(stack, rng);
          history.add('*', [], `fault: ${what}`);
          break;
        }
        case 'broker':
          history.add('*', [], `fault: ${await restartBroker(stack, rng)}`);
          break;
        case 'flush':
          history.add('*', [], `fault: ${await flushRedis(stack)}`);
          break;
        case 'keys': {
          const customer = rng.pick([...t.model.customers.keys()]);
          history.add(t.label, [customer], `fault: ${await deleteCustomerKeys(stack, t.tenantId, customer)}`);
          break;
        }
        case 'clickhouse': {
          if (clickhouseBack) {
            counts[kind]!--; // nothing to do: not counted as run
            break;
          }
          const ms = rng.int(1500, 4000);
          await stack.proxy.down();
          history.add('*', [], `fault: ClickHouse cut for ${ms} ms`);
          clickhouseBack = new Promise<void>((r) => setTimeout(r, ms)).then(async () => {
            await stack.proxy.up();
            history.add('*', [], 'ClickHouse reachable again');
            clickhouseBack = null;
          });
          break;
        }
        case 'period': {
          await barrier();
          const customer = rng.pick([...t.model.customers.keys()]);
          const anchor = await crossPeriod(stack, t.tenantId, customer);
          t.model.customer(customer).anchorMs = anchor;
          history.add(t.label, [customer], `fault: period boundary crossed (anchor moved to ${new Date(anchor).toISOString()})`);
          // The anchor was changed behind Tally's back. A customer update tells every process (API and
          // workers: apply imports are priced by a worker) to drop the customer's context; its answer comes
          // once all of them heard it. Waiting for caches was not enough: a worker kept the old anchor.
          const told = await ctx.apis.call(t.secret, 'POST', '/v1/customers', { id: customer, email: `${customer}@sim.example` });
          if (told.status >= 300) throw new Error(`customer update after the period move: ${told.status} ${JSON.stringify(told.body)}`);
          break;
        }
      }
      if (seq % 50 === 0) log(`  ${seq}/${opts.ops} ops, ${ctx.divergences.length} divergences so far`);
    }

    await Promise.all(inFlight);
    log(`ops done at ${((Date.now() - started) / 1000).toFixed(1)} s (${(barrierMs / 1000).toFixed(1)} s waiting for barriers to settle)`);
    if (clickhouseBack) await clickhouseBack;
    // quiescence: every acknowledged event applied and stored, then compare exactly
    // quiescence, also after a barrier gave up: a late event then lands here ("late"), a lost one never does
    const quiet = Date.now();
    for (const t of tenants) {
      if (await waitSettled(t, [...t.model.customers.keys()], 60_000, ctx, history)) {
        if (stuck) history.add(t.label, [], `settled at quiescence, ${((Date.now() - quiet) / 1000).toFixed(1)} s after the ops ended (late, not lost)`);
      }
    }
    for (const t of tenants) ctx.divergences.push(...(await compareTenant(ctx.apis, t, stack.redis)));
    const first = ctx.divergences[0];
    const report = first
      ? [describe(first, ctx.divergences.length, history), ...(ctx.divergences.length > 1 ? ctx.divergences.slice(0, 20).map((d) => `  ${d.tenant} ${d.customer ?? '-'}: ${d.what}: expected ${d.expected}, actual ${d.actual}`) : [])].join('\n')
      : '';
    return { seed: opts.seed, ops: opts.ops, faults: opts.faults, counts, wallMs: Date.now() - started, divergences: ctx.divergences, report, summary: summarize(tenants), history: history.all() };
  } finally {
    if (!opts.stack) await stack.stop();
  }
}

function summarize(tenants: TenantHandle[]): string {
  const statuses: Record<string, number> = {};
  const buckets = { plan: 0n, purchased: 0n, overage: 0n, events: 0 };
  for (const t of tenants) {
    for (const p of t.model.purchases.values()) statuses[p.status] = (statuses[p.status] ?? 0) + 1;
    for (const c of t.model.customers.values()) {
      buckets.plan += c.totals.plan;
      buckets.purchased += c.totals.purchased;
      buckets.overage += c.totals.overage;
      buckets.events += c.totals.count;
    }
  }
  const credits = (m: bigint) => (Number(m) / 1e6).toFixed(6);
  const purchases = Object.entries(statuses).map(([k, n]) => `${k} ${n}`).join(', ') || 'none';
  return `model: ${buckets.events} events applied; credits plan ${credits(buckets.plan)}, purchased ${credits(buckets.purchased)}, overage ${credits(buckets.overage)}; purchases: ${purchases}`;
}

/** Waits until ClickHouse holds exactly the events the model applied; false (and a divergence) on timeout. */
async function waitSettled(t: TenantHandle, customers: string[], timeoutMs: number, ctx: OpContext, history: History): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await settled(t, customers)) return true;
    } catch {
      // ClickHouse briefly unreachable: ask again
    }
    if (Date.now() > deadline) {
      ctx.divergences.push({ tenant: t.label, customer: null, what: `quiescence: stored events still differ from the acknowledged ones after ${timeoutMs} ms`, expected: 'settled', actual: 'not settled' });
      history.add(t.label, [], 'quiescence timed out');
      return false;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

function describe(d: Divergence, total: number, history: History): string {
  return [
    `first divergence (of ${total}): tenant ${d.tenant}${d.customer ? `, customer ${d.customer}` : ''}: ${d.what}`,
    `  expected ${d.expected}`,
    `  actual   ${d.actual}`,
    'history that led to it:',
    ...history.about(d.tenant, d.customer),
    ...(total > 1 ? ['all divergences:'] : []),
  ].join('\n');
}
