import { randomUUID } from 'node:crypto';
import { initialCatalog, PLANS } from './catalog.ts';
import { compareTenant, type Divergence, type TenantHandle } from './compare.ts';
import { crossPeriod, killOne, type Fault } from './faults.ts';
import { Gates } from './gates.ts';
import { History } from './history.ts';
import { Apis } from './http.ts';
import { TenantModel, type EventInput } from './model.ts';
import { addon, refund } from './billing-ops.ts';
import { importLines, revertImport, runImport } from './import-ops.ts';
import { attach, conflicting, drawChange, freshEvent, newCustomer, reusedEvent, stamp, strictCheck, syncChange, track, trackBatch, type OpContext, type Planned } from './ops.ts';
import { Rng } from './rng.ts';
import { Settler } from './settle.ts';
import { Stack, type Profile } from './stack.ts';

export interface RunOptions {
  seed: number;
  ops: number;
  /** `wide` also flips a plan entitlement's reset monthly <-> weekly. */
  catalog: 'default' | 'wide';
  /** The engines the stack runs on (ignored when `stack` is given: the stack's own). */
  profile?: Profile;
  faults: Fault[];
  redisDb: number;
  /** Track, check and batch requests in flight at once. */
  concurrency?: number;
  /** Operations launched and not yet ended, those waiting behind a barrier included (the generator waits above). */
  queue?: number;
  /** Stop generating once this much time has passed (0: no limit), then quiesce and compare as usual. */
  maxMs?: number;
  /** Resolves when the caller asks to stop generating early (SIGUSR2): the run then quiesces and compares. */
  stopSignal?: Promise<void>;
  /**
   * 0: faults are drawn among the operations, by weight. > 0: one fault every
   * this many ms on average (0.5x-1.5x), drawn from a stream of their own, so
   * their number follows the run's length in time rather than in operations.
   */
  faultEveryMs?: number;
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
  /** Starting the stack (0 when it was given), and the operations until the last one ended. */
  stackMs: number;
  opsMs: number;
  /** Throughput and where the time went (barriers' waits, the generator held back). */
  perf: string;
  divergences: Divergence[];
  /** The first divergence with the history that led to it (empty when none). */
  report: string;
  /** What the model ended with, to show a run exercised what it claims (purchases by status, credits by bucket). */
  summary: string;
  /** The whole history (every tenant and customer), for a divergence the first one's history does not explain. */
  history: string[];
}

/** A tenant as the run holds it: Tally's handle and model, and what the generator planned. */
interface SimTenant extends TenantHandle {
  plan: Planned;
}

export type Kind = 'track' | 'batch' | 'check' | 'duplicate' | 'conflict' | 'sync' | 'attach' | 'customer' | 'addon' | 'refund' | 'import-report' | 'import-apply' | 'revert' | Fault;

// sync: 2, each of 1-3 changes (4 per 100 operations before, one change each)
const BASE_WEIGHTS = { track: 28, batch: 18, check: 22, duplicate: 6, conflict: 4, sync: 2, attach: 4, customer: 2, addon: 4, refund: 2.5, 'import-report': 1.5, 'import-apply': 1.5, revert: 1.5 };
const FAULT_WEIGHT: Record<Fault, number> = { kill: 1, flush: 0.7, keys: 1, clickhouse: 0.8, period: 1, broker: 0.5 };
const MAX_CUSTOMERS = 6;

export async function runSimulation(opts: RunOptions): Promise<RunResult> {
  const started = Date.now();
  const log = opts.log ?? (() => {});
  const rng = new Rng(opts.seed);
  // faults on a time schedule draw from a stream of their own, so the operations stay the seed's
  const faultRng = new Rng(opts.seed ^ 0x5eed_fa17);
  const faultEveryMs = opts.faultEveryMs ?? 0;
  const concurrency = opts.concurrency ?? 16;
  const run = `${opts.seed}-${randomUUID().slice(0, 6)}`;
  const wantsBroker = opts.faults.includes('broker');
  if (opts.stack && wantsBroker && !opts.stack.canRestartBroker) throw new Error('the broker fault needs a stack with brokers it owns (privateBroker: true, or the cluster profile)');
  const stack = opts.stack ?? (await Stack.start({ run, redisDb: opts.redisDb, privateBroker: wantsBroker, profile: opts.profile ?? 'default', log }));
  const stackMs = Date.now() - started;
  log(`stack up in ${(stackMs / 1000).toFixed(1)} s`);
  const history = new History();
  // a request answered 503 or not at all is retried (same id) for 120 s: at a load average of 40 the APIs answered
  // 503 deadline_exceeded for over 45 s (the budget before), and such an event, applied later, was unknown to the model;
  // a broker restart takes a JVM start (40 s on a loaded 2-core machine): 180 s then
  const ctx: OpContext = { apis: new Apis(stack.apis.map((a) => a.url), wantsBroker ? 180_000 : 120_000), history, divergences: [], sentBy: new Map() };
  const counts: Record<string, number> = {};
  const gates = new Gates((err: unknown) => {
    ctx.divergences.push({ tenant: '*', customer: null, what: 'operation failed', expected: 'an answer', actual: String(err) });
  }, concurrency);
  const settler = new Settler();
  const background = new Set<Promise<void>>();
  const inBackground = (what: string, p: Promise<unknown>) => {
    const tracked: Promise<void> = p
      .then(() => undefined)
      .catch((err: unknown) => {
        ctx.divergences.push({ tenant: '*', customer: null, what, expected: 'done', actual: String(err) });
      })
      .finally(() => background.delete(tracked));
    background.add(tracked);
  };
  let clickhouseBack: Promise<void> | null = null;
  let brokerBusy = false;
  const profile = { settleWaits: 0, settleMs: 0, blockedMs: 0 };

  try {
    const tenants: SimTenant[] = [];
    for (const label of ['t1', 't2']) {
      const { tenantId, secret } = await stack.newTenant(`sim-${label}`);
      const t: SimTenant = { label, tenantId, secret, model: new TenantModel(initialCatalog()), plan: { catalog: initialCatalog(), customers: [], plans: new Map(), buyers: [], imports: [] } };
      const res = await ctx.apis.call(secret, 'POST', '/v1/sync', t.model.catalog);
      if (res.status !== 200) throw new Error(`initial sync: ${res.status} ${JSON.stringify(res.body)}`);
      for (let i = 0; i < 3; i++) {
        const id = `${label}-c${i}`;
        const plan = rng.pick(PLANS);
        t.plan.customers.push(id);
        t.plan.plans.set(id, plan);
        await newCustomer(ctx, t, id, plan);
      }
      tenants.push(t);
      ctx.sentBy.set(label, []);
    }
    const weights: Record<string, number> = { ...BASE_WEIGHTS };
    const faultWeights: Record<string, number> = {};
    for (const f of opts.faults) (faultEveryMs > 0 ? faultWeights : weights)[f] = FAULT_WEIGHT[f];
    for (const [k, w] of Object.entries(opts.weights ?? {})) {
      if (k in faultWeights) faultWeights[k] = w;
      else if (k in weights) weights[k] = w;
      else throw new Error(`unknown operation "${k}" in weights (known: ${[...Object.keys(weights), ...Object.keys(faultWeights)].join(', ')})`);
    }
    const opsStarted = Date.now();

    // A barrier's wait: the customers' events answered (their gate) and stored. False (a divergence) if not within 60 s.
    let stuck = false;
    const settle = async (t: SimTenant, customers: string[], timeoutMs = 60_000): Promise<boolean> => {
      const t0 = Date.now();
      if (clickhouseBack) await clickhouseBack;
      const ok = await settler.wait(t, customers, timeoutMs);
      profile.settleWaits++;
      profile.settleMs += Date.now() - t0;
      if (!ok) {
        ctx.divergences.push({ tenant: t.label, customer: null, what: `quiescence: stored events still differ from the acknowledged ones after ${timeoutMs} ms`, expected: 'settled', actual: 'not settled' });
        history.add(t.label, [], 'quiescence timed out');
        stuck = true;
      }
      return ok;
    };
    const all = (t: SimTenant) => [...t.model.customers.keys()];
    const send = (t: SimTenant, events: EventInput[], done: Promise<void>) => {
      const sent = ctx.sentBy.get(t.label)!;
      for (const e of events) sent.push({ tenant: t, event: e, done });
    };
    // the generator runs ahead of the barriers by up to `queue` operations (their order per customer is fixed at launch)
    const queue = opts.queue ?? 64;
    const room = async () => {
      const t0 = Date.now();
      await gates.room(queue);
      profile.blockedMs += Date.now() - t0;
    };

    const fault = async (kind: Fault, t: SimTenant, r: Rng, customers = t.plan.customers): Promise<boolean> => {
      switch (kind) {
        case 'kill': {
          const k = killOne(stack, r);
          if (!k) return false; // that process is still restarting
          history.add('*', [], `fault: ${k.what}`);
          inBackground('restart after kill -9', k.restarted.then(() => history.add('*', [], `${k.what.split(' (')[0]}: restarted`)));
          return true;
        }
        case 'broker': {
          if (brokerBusy) return false;
          brokerBusy = true;
          const restart = stack.restartBroker(r);
          history.add('*', [], `fault: ${restart.what}`);
          inBackground('broker restart', restart.done.then((what) => history.add('*', [], what)).finally(() => (brokerBusy = false)));
          return true;
        }
        case 'flush':
          history.add('*', [], `fault: ${await stack.flushRedis()}`);
          return true;
        case 'keys': {
          const customer = r.pick(customers);
          history.add(t.label, [customer], `fault: ${await stack.deleteCustomerKeys(t.tenantId, customer)}`);
          return true;
        }
        case 'clickhouse': {
          if (clickhouseBack) return false;
          const ms = r.int(1500, 4000);
          await stack.proxy.down();
          history.add('*', [], `fault: ClickHouse cut for ${ms} ms`);
          clickhouseBack = new Promise<void>((res) => setTimeout(res, ms)).then(async () => {
            await stack.proxy.up();
            history.add('*', [], 'ClickHouse reachable again');
            clickhouseBack = null;
          });
          return true;
        }
        case 'period': {
          const customer = r.pick(t.plan.customers);
          gates.exclusive(kind, t.label, [customer], async () => {
            if (!(await settle(t, [customer]))) return;
            const anchor = await crossPeriod(stack, t.tenantId, customer);
            t.model.customer(customer).anchorMs = anchor;
            history.add(t.label, [customer], `fault: period boundary crossed (anchor moved to ${new Date(anchor).toISOString()})`);
            // The anchor was changed behind Tally's back. A customer update tells every process (API and
            // workers: apply imports are priced by a worker) to drop the customer's context; its answer comes
            // once all of them heard it. Waiting for caches was not enough: a worker kept the old anchor.
            const told = await ctx.apis.call(t.secret, 'POST', '/v1/customers', { id: customer, email: `${customer}@sim.example` });
            if (told.status >= 300) throw new Error(`customer update after the period move: ${told.status} ${JSON.stringify(told.body)}`);
          });
          return true;
        }
      }
    };
    let faultChain: Promise<void> = Promise.resolve();
    let nextFaultAt = Date.now() + (faultEveryMs > 0 ? faultRng.int(faultEveryMs / 2, (faultEveryMs * 3) / 2) : 0);

    // a time budget or a stop signal ends the generation; what was launched still ends and is compared
    let stopped: string | null = null;
    let generated = 0;
    void opts.stopSignal?.then(() => (stopped ??= 'stop asked (SIGUSR2)'));
    for (let seq = 1; seq <= opts.ops && !stuck; seq++) {
      if (!stopped && opts.maxMs && Date.now() - opsStarted > opts.maxMs) stopped = `time budget of ${Math.round(opts.maxMs / 60_000)} min reached`;
      if (stopped) {
        log(`  ${stopped} after ${seq - 1} ops: quiescing and comparing`);
        break;
      }
      generated = seq;
      if (faultEveryMs > 0 && Object.keys(faultWeights).length > 0 && Date.now() >= nextFaultAt) {
        const kind = faultRng.weighted(faultWeights) as Fault;
        if (await fault(kind, faultRng.pick(tenants), faultRng)) counts[kind] = (counts[kind] ?? 0) + 1;
        nextFaultAt = Date.now() + faultRng.int(faultEveryMs / 2, (faultEveryMs * 3) / 2);
      }
      const t = rng.pick(tenants);
      const kind = rng.weighted(weights) as Kind;
      counts[kind] = (counts[kind] ?? 0) + 1;
      const skip = () => counts[kind]!--; // nothing to do: not counted as run
      switch (kind) {
        case 'track':
        case 'check': {
          const e = freshEvent(rng, t.plan, seq);
          const done = gates.shared(kind, t.label, [e.customer], async () => {
            stamp(e);
            await (kind === 'track' ? track(ctx, t, e) : strictCheck(ctx, t, e));
          });
          send(t, [e], done);
          break;
        }
        case 'batch': {
          const events = Array.from({ length: rng.int(2, 25) }, (_, i) => freshEvent(rng, t.plan, seq * 100 + i));
          const twice = rng.chance(0.3) ? { ...events[0]! } : null; // the same id twice in one request
          const fresh = [...events];
          if (twice) events.push(twice);
          const done = gates.shared(kind, t.label, [...new Set(events.map((e) => e.customer))], async () => {
            for (const e of fresh) stamp(e);
            if (twice) Object.assign(twice, fresh[0]);
            await trackBatch(ctx, t, events);
          });
          send(t, events, done);
          break;
        }
        case 'duplicate':
        case 'conflict': {
          const original = reusedEvent(rng, ctx, t);
          if (!original) {
            skip();
            break;
          }
          // the original was answered first, so the model knows which payload came first
          gates.shared(kind, t.label, [original.event.customer], () => track(ctx, t, kind === 'conflict' ? conflicting(original.event) : original.event), [original.done]);
          break;
        }
        case 'sync': {
          const change = drawChange(t.plan, rng, seq, opts.catalog === 'wide');
          if (!change) break;
          t.plan.catalog = change.body;
          gates.exclusive(kind, t.label, 'tenant', async () => {
            if (await settle(t, all(t))) await syncChange(ctx, t, change);
          });
          break;
        }
        case 'attach': {
          const customer = rng.pick(t.plan.customers);
          const plan = rng.pick(PLANS.filter((p) => p !== t.plan.plans.get(customer)));
          t.plan.plans.set(customer, plan);
          gates.exclusive(kind, t.label, [customer], async () => {
            if (await settle(t, [customer])) await attach(ctx, t, customer, plan);
          });
          break;
        }
        case 'customer': {
          if (t.plan.customers.length >= MAX_CUSTOMERS) {
            skip();
            break;
          }
          const id = `${t.label}-c${t.plan.customers.length}`;
          const plan = rng.pick(PLANS);
          t.plan.customers.push(id);
          t.plan.plans.set(id, plan);
          gates.exclusive(kind, t.label, [id], () => newCustomer(ctx, t, id, plan));
          break;
        }
        case 'addon': {
          const customer = rng.pick(t.plan.customers);
          if (!t.plan.buyers.includes(customer)) t.plan.buyers.push(customer);
          const r = rng.fork();
          gates.exclusive(kind, t.label, [customer], async () => {
            if (await settle(t, [customer])) await addon(ctx, t, r, customer, seq);
          });
          break;
        }
        case 'refund': {
          if (t.plan.buyers.length === 0) {
            skip();
            break;
          }
          const customer = rng.pick(t.plan.buyers);
          const r = rng.fork();
          gates.exclusive(kind, t.label, [customer], async () => {
            const purchases = [...t.model.purchases.values()].filter((p) => p.customer === customer);
            if (purchases.length === 0) return void skip();
            const p = r.pick(purchases);
            if (await settle(t, [customer])) await refund(ctx, t, p);
          });
          break;
        }
        case 'import-report':
        case 'import-apply': {
          // a file over 1-3 of the tenant's customers: a barrier for them only
          const mode = kind === 'import-report' ? 'report' : 'apply';
          const customers = [...new Set(Array.from({ length: rng.int(1, 3) }, () => rng.pick(t.plan.customers)))];
          const entry: Planned['imports'][number] = { customers, done: null };
          t.plan.imports.push(entry);
          const r = rng.fork();
          gates.exclusive(kind, t.label, customers, async () => {
            if (!(await settle(t, customers))) return;
            entry.done = await runImport(ctx, t, mode, importLines(r, ctx, t, mode, seq, customers));
            // an apply import's events reach ClickHouse through the pipeline: settled before anything else
            await settle(t, customers);
          });
          break;
        }
        case 'revert': {
          if (t.plan.imports.length === 0) {
            skip();
            break;
          }
          const entry = rng.pick(t.plan.imports);
          gates.exclusive(kind, t.label, entry.customers, async () => {
            const imp = entry.done;
            if (!imp || imp.state !== 'completed') return void skip(); // did not complete, or already reverted
            if (await settle(t, entry.customers)) await revertImport(ctx, t, imp);
          });
          break;
        }
        case 'period':
          await fault(kind, t, rng); // a barrier of its customer: ordered with that customer's operations
          break;
        default: {
          // Drawn among the operations, it strikes once every operation generated before it has started
          // (the generator runs ahead of them); faults strike one after another. Its target is drawn now.
          const r = rng.fork();
          const customers = [...t.plan.customers];
          const before = gates.allStarted();
          faultChain = faultChain
            .then(async () => {
              await before;
              if (!(await fault(kind, t, r, customers))) skip();
            })
            .catch((err: unknown) => {
              ctx.divergences.push({ tenant: '*', customer: null, what: `fault ${kind} failed`, expected: 'done', actual: String(err) });
            });
        }
      }
      await room();
      if (seq % 500 === 0 || (opts.ops <= 2000 && seq % 50 === 0)) log(`  ${seq}/${opts.ops} ops, ${((Date.now() - opsStarted) / 1000).toFixed(1)} s, ${ctx.divergences.length} divergences so far`);
    }

    await faultChain;
    await gates.drain();
    const opsMs = Date.now() - opsStarted;
    await Promise.all(background);
    if (clickhouseBack) await clickhouseBack;
    const done = opts.ops > 0 ? Object.values(counts).reduce((a, b) => a + b, 0) : 0;
    const perf = `ops done in ${(opsMs / 1000).toFixed(1)} s (${((done / opsMs) * 1000).toFixed(1)} ops/s); barriers: ${profile.settleWaits} settle waits, ${(profile.settleMs / 1000).toFixed(1)} s in all (overlapping), generator held ${(profile.blockedMs / 1000).toFixed(1)} s (${concurrency} requests, ${queue} operations queued at most); ${settler.queries} ClickHouse counts, ${(settler.queryMs / 1000).toFixed(1)} s`;
    const byKind = [...gates.stats].sort((a, b) => b[1].waitMs + b[1].runMs - a[1].waitMs - a[1].runMs)
      .map(([k, v]) => `${k} ${v.n}: wait ${(v.waitMs / v.n / 1000).toFixed(2)} s, run ${(v.runMs / v.n / 1000).toFixed(2)} s`).join('; ');
    const perfAll = `${perf}\n  per operation (mean): ${byKind}`;
    log(perfAll);
    // quiescence, also after a barrier gave up: a late event then lands here ("late"), a lost one never does
    const quiet = Date.now();
    for (const t of tenants) {
      if (await settler.wait(t, all(t), 60_000)) {
        if (stuck) history.add(t.label, [], `settled at quiescence, ${((Date.now() - quiet) / 1000).toFixed(1)} s after the ops ended (late, not lost)`);
      } else {
        ctx.divergences.push({ tenant: t.label, customer: null, what: 'quiescence: stored events still differ from the acknowledged ones after 60000 ms', expected: 'settled', actual: 'not settled' });
        history.add(t.label, [], 'quiescence timed out');
      }
    }
    for (const t of tenants) ctx.divergences.push(...(await compareTenant(ctx.apis, t, stack.redis)));
    const first = ctx.divergences[0];
    const report = first
      ? [describe(first, ctx.divergences.length, history), ...(ctx.divergences.length > 1 ? ctx.divergences.slice(0, 20).map((d) => `  ${d.tenant} ${d.customer ?? '-'}: ${d.what}: expected ${d.expected}, actual ${d.actual}`) : [])].join('\n')
      : '';
    return {
      seed: opts.seed, ops: generated, faults: opts.faults, counts, wallMs: Date.now() - started, stackMs, opsMs, perf: perfAll,
      divergences: ctx.divergences, report, summary: summarize(tenants), history: history.all(),
    };
  } finally {
    await Promise.all(background);
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
