/**
 * Orders the operations of a run by what they touch, so a barrier holds up
 * only the operations it concerns while the others keep flowing.
 *
 * - `shared` (track, check, batch, duplicate): runs alongside others on the
 *   same customers, but starts only after every gate launched before it on its
 *   tenant or one of its customers has ended.
 * - `exclusive` on customers (attach, addon, refund, period, a new customer) or
 *   on the whole tenant (sync, import, revert): starts once every operation
 *   launched before it on that scope has ended (the operation then waits for
 *   ClickHouse to hold them: `Settler`), and every operation launched after it
 *   on that scope waits for it to end.
 *
 * Launch order is generation order, which the seed fixes; so for each
 * customer the order of its barriers and its events is the seed's, whatever
 * the timing. Other customers' events interleave freely, as before.
 */
export class Gates {
  private readonly tenantGate = new Map<string, Promise<void>>();
  private readonly customerGate = new Map<string, Promise<void>>();
  private readonly byTenant = new Map<string, Set<Promise<void>>>();
  private readonly byCustomer = new Map<string, Set<Promise<void>>>();
  /** Every operation launched and not yet ended (those still waiting for a gate included). */
  readonly pending = new Set<Promise<void>>();
  /** Per label: operations, time waiting for the gates before them, time running. */
  readonly stats = new Map<string, { n: number; waitMs: number; runMs: number }>();
  private running = 0;
  private readonly started = new Map<Promise<void>, Promise<void>>();
  private readonly slotWaiters: (() => void)[] = [];
  private readonly roomWaiters: { below: number; resolve: () => void }[] = [];

  /** `maxRunning`: shared operations sending at once (those waiting behind a gate do not count). */
  constructor(private readonly onError: (err: unknown) => void, private readonly maxRunning: number) {}

  /** `after`: more to wait for before taking a sending slot (a duplicate's original answered). */
  shared(label: string, tenant: string, customers: string[], op: () => Promise<void>, after: Promise<unknown>[] = []): Promise<void> {
    const before = [this.tenantGate.get(tenant), ...customers.map((c) => this.customerGate.get(key(tenant, c))), ...after].filter((p) => p !== undefined);
    return this.track(label, tenant, customers, before, async () => {
      if (this.running >= this.maxRunning) await new Promise<void>((r) => this.slotWaiters.push(r));
      this.running++;
      try {
        await op();
      } finally {
        this.running--;
        this.slotWaiters.shift()?.();
      }
    });
  }

  exclusive(label: string, tenant: string, customers: string[] | 'tenant', op: () => Promise<void>): Promise<void> {
    const before =
      customers === 'tenant'
        ? [...this.set(this.byTenant, tenant)]
        : [this.tenantGate.get(tenant), ...customers.flatMap((c) => [...this.set(this.byCustomer, key(tenant, c))])].filter((p) => p !== undefined);
    const p = this.track(label, tenant, customers === 'tenant' ? [] : customers, before, op);
    if (customers === 'tenant') this.tenantGate.set(tenant, p);
    else for (const c of customers) this.customerGate.set(key(tenant, c), p);
    return p;
  }

  /** Resolves when every operation launched so far (and any they are waiting for) has ended. */
  async drain(): Promise<void> {
    while (this.pending.size > 0) await Promise.all(this.pending);
  }

  /** Resolves once every operation launched so far has started (is past the gates before it). */
  allStarted(): Promise<void> {
    return Promise.all([...this.pending].map((p) => this.started.get(p))).then(() => undefined);
  }

  /** Resolves once fewer than `n` operations are pending. */
  room(n: number): Promise<void> {
    if (this.pending.size < n) return Promise.resolve();
    return new Promise((resolve) => this.roomWaiters.push({ below: n, resolve }));
  }

  private track(label: string, tenant: string, customers: string[], before: Promise<unknown>[], op: () => Promise<void>): Promise<void> {
    const sets = [this.set(this.byTenant, tenant), ...customers.map((c) => this.set(this.byCustomer, key(tenant, c)))];
    const stat = this.stats.get(label) ?? { n: 0, waitMs: 0, runMs: 0 };
    this.stats.set(label, stat);
    const launched = Date.now();
    let markStarted = () => {};
    const started = new Promise<void>((r) => (markStarted = r));
    const p: Promise<void> = (async () => {
      try {
        await Promise.all(before);
      } finally {
        markStarted();
      }
      const ran = Date.now();
      stat.waitMs += ran - launched;
      try {
        await op();
      } finally {
        stat.n++;
        stat.runMs += Date.now() - ran;
      }
    })()
      .catch(this.onError)
      .finally(() => {
        this.pending.delete(p);
        this.started.delete(p);
        for (let i = this.roomWaiters.length - 1; i >= 0; i--) {
          const w = this.roomWaiters[i]!;
          if (this.pending.size < w.below) {
            this.roomWaiters.splice(i, 1);
            w.resolve();
          }
        }
        for (const s of sets) s.delete(p);
        if (this.tenantGate.get(tenant) === p) this.tenantGate.delete(tenant);
        for (const c of customers) if (this.customerGate.get(key(tenant, c)) === p) this.customerGate.delete(key(tenant, c));
      });
    this.pending.add(p);
    this.started.set(p, started);
    for (const s of sets) s.add(p);
    return p;
  }

  private set(map: Map<string, Set<Promise<void>>>, k: string): Set<Promise<void>> {
    let s = map.get(k);
    if (!s) map.set(k, (s = new Set()));
    return s;
  }
}

const key = (tenant: string, customer: string) => `${tenant}\u0000${customer}`;
