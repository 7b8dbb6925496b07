import type { TenantHandle } from './compare.ts';
import { clickhouseRows } from './stack.ts';

interface Waiter {
  t: TenantHandle;
  customers: string[];
  deadline: number;
  resolve: (settled: boolean) => void;
}

/**
 * "ClickHouse holds, per customer, exactly as many events as the model
 * applied" for the customers a barrier concerns. One poller serves every
 * barrier waiting at once: each round is one grouped count per tenant over
 * the customers waited for (the sort key starts with tenant and customer, so
 * it reads only theirs), and resolves every waiter it satisfies. A waiter's
 * customers are held by its gate (`Gates`), so the model's counts it compares
 * with do not move while it waits.
 */
export class Settler {
  private readonly waiters = new Set<Waiter>();
  private running = false;
  /** Queries run and time spent in them (for the run's profile). */
  queries = 0;
  queryMs = 0;

  constructor(private readonly pollMs = 30) {}

  wait(t: TenantHandle, customers: string[], timeoutMs: number): Promise<boolean> {
    if (customers.length === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      this.waiters.add({ t, customers, deadline: Date.now() + timeoutMs, resolve });
      if (!this.running) void this.loop();
    });
  }

  private async loop(): Promise<void> {
    this.running = true;
    try {
      while (this.waiters.size > 0) {
        const byTenant = new Map<TenantHandle, Set<string>>();
        for (const w of this.waiters) {
          const s = byTenant.get(w.t) ?? new Set<string>();
          for (const c of w.customers) s.add(c);
          byTenant.set(w.t, s);
        }
        const stored = new Map<TenantHandle, Map<string, number>>();
        for (const [t, customers] of byTenant) {
          try {
            stored.set(t, await this.counts(t.tenantId, [...customers]));
          } catch {
            // ClickHouse briefly unreachable: ask again next round
          }
        }
        for (const w of [...this.waiters]) {
          const counts = stored.get(w.t);
          if (counts && w.customers.every((c) => (counts.get(c) ?? 0) === w.t.model.customer(c).totals.count)) {
            this.waiters.delete(w);
            w.resolve(true);
          } else if (Date.now() > w.deadline) {
            this.waiters.delete(w);
            w.resolve(false);
          }
        }
        if (this.waiters.size > 0) await new Promise((r) => setTimeout(r, this.pollMs));
      }
    } finally {
      this.running = false;
    }
  }

  private async counts(tenantId: string, customers: string[]): Promise<Map<string, number>> {
    if (!/^[0-9a-f-]{36}$/.test(tenantId)) throw new Error(`not a tenant id: ${tenantId}`);
    const list = customers.map((c) => `'${c.replace(/[\\']/g, (x) => `\\${x}`)}'`).join(',');
    const t0 = Date.now();
    const rows = await clickhouseRows<{ customer_id: string; events: string }>(
      `SELECT customer_id, toString(count()) AS events FROM raw_usage_events_v1 FINAL
        WHERE tenant_id = '${tenantId}' AND customer_id IN (${list}) AND reverted = 0 GROUP BY customer_id`,
    );
    this.queries++;
    this.queryMs += Date.now() - t0;
    return new Map(rows.map((r) => [r.customer_id, Number(r.events)]));
  }
}
