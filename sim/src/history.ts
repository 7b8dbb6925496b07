/** What the sim did and what Tally answered, in acknowledgement order, to print with a divergence. */
export interface Entry {
  seq: number;
  atMs: number;
  /** Tenant label (t1, t2), or '*' for a stack-wide fault. */
  tenant: string;
  /** Customers the entry touches; empty = the whole tenant (catalog changes, faults). */
  customers: string[];
  text: string;
}

export class History {
  readonly entries: Entry[] = [];
  private readonly t0 = Date.now();

  add(tenant: string, customers: string[], text: string): void {
    this.entries.push({ seq: this.entries.length + 1, atMs: Date.now(), tenant, customers, text });
  }

  /** The entries that led to a customer's state: its own, its tenant's catalog changes, and stack-wide faults. */
  about(tenant: string, customer: string | null, last = 60): string[] {
    return this.entries
      .filter((e) => e.tenant === '*' || (e.tenant === tenant && (customer === null || e.customers.length === 0 || e.customers.includes(customer))))
      .slice(-last)
      .map((e) => `  #${e.seq} +${((e.atMs - this.t0) / 1000).toFixed(2)}s ${e.tenant} ${e.text}`);
  }

  /** Every entry, formatted as `about` does (written to a file when a run diverges). */
  all(): string[] {
    return this.entries.map((e) => `  #${e.seq} +${((e.atMs - this.t0) / 1000).toFixed(2)}s ${e.tenant} [${e.customers.join(',')}] ${e.text}`);
  }
}
