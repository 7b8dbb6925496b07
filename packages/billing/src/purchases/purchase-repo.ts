import type { Pool, Queryable } from '@tally/postgres';

export type PurchaseStatus = 'pending' | 'charging' | 'awaiting_payment' | 'paid' | 'completed' | 'failed' | 'refunded' | 'expired';

/** PURCHASE_EXPIRY_SECONDS' default: a hosted checkout left unpaid for a day expires. */
export const DEFAULT_PURCHASE_EXPIRY_SECONDS = 86_400;

export interface Purchase {
  id: string;
  tenantId: string;
  customerId: string;
  packId: string;
  packSlug: string;
  /** The pack's name when it was sold (what a checkout page and a receipt show). */
  packName: string;
  creditSystem: string;
  quantity: number;
  creditsMicro: bigint;
  amountMinor: bigint;
  currency: string;
  provider: string;
  source: 'purchase' | 'auto_topup';
  status: PurchaseStatus;
  idempotencyKey: string | null;
  paymentMethodId: string | null;
  checkoutId: string | null;
  checkoutUrl: string | null;
  chargeId: string | null;
  failureCode: string | null;
  failureMessage: string | null;
  callbackUrl: string | null;
  metadata: Record<string, unknown>;
  /** The pack's refund rule when it was sold: 'unspent' (pro rata) or 'full'. */
  refundPolicy: 'unspent' | 'full';
  createdAt: Date;
  completedAt: Date | null;
}

export type NewPurchase = Pick<
  Purchase,
  'id' | 'tenantId' | 'customerId' | 'packId' | 'packSlug' | 'packName' | 'creditSystem' | 'quantity' | 'creditsMicro' | 'amountMinor' | 'currency' | 'provider' | 'source' | 'idempotencyKey' | 'callbackUrl' | 'metadata' | 'refundPolicy'
>;

interface Row {
  id: string;
  tenant_id: string;
  customer_id: string;
  pack_id: string;
  pack_slug: string;
  pack_name: string | null;
  credit_system: string;
  quantity: number;
  credits_micro: bigint;
  amount_minor: bigint;
  currency: string;
  provider: string;
  source: Purchase['source'];
  status: PurchaseStatus;
  idempotency_key: string | null;
  payment_method_id: string | null;
  checkout_id: string | null;
  checkout_url: string | null;
  charge_id: string | null;
  failure_code: string | null;
  failure_message: string | null;
  callback_url: string | null;
  metadata: Record<string, unknown>;
  refund_policy: 'unspent' | 'full';
  created_at: Date;
  completed_at: Date | null;
}

const toPurchase = (r: Row): Purchase => ({
  id: r.id,
  tenantId: r.tenant_id,
  customerId: r.customer_id,
  packId: r.pack_id,
  packSlug: r.pack_slug,
  packName: r.pack_name ?? r.pack_slug,
  creditSystem: r.credit_system,
  quantity: r.quantity,
  creditsMicro: r.credits_micro,
  amountMinor: r.amount_minor,
  currency: r.currency,
  provider: r.provider,
  source: r.source,
  status: r.status,
  idempotencyKey: r.idempotency_key,
  paymentMethodId: r.payment_method_id,
  checkoutId: r.checkout_id,
  checkoutUrl: r.checkout_url,
  chargeId: r.charge_id,
  failureCode: r.failure_code,
  failureMessage: r.failure_message,
  callbackUrl: r.callback_url,
  metadata: r.metadata ?? {},
  refundPolicy: r.refund_policy,
  createdAt: r.created_at,
  completedAt: r.completed_at,
});

export const UNIQUE_VIOLATION = '23505';

/** Purchases in Postgres. Every state change is a guarded UPDATE (`WHERE status IN …`). */
export class PurchaseRepo {
  /** Told of each purchase this repo expired (billing.ts emits `purchase.expired`). */
  onExpired: (p: Purchase) => void = () => {};

  constructor(
    private readonly pool: Pool,
    private readonly expirySeconds = DEFAULT_PURCHASE_EXPIRY_SECONDS,
  ) {}

  /**
   * Expires purchases awaiting payment for longer than the expiry (all, or
   * the one `id`): the guarded UPDATE makes it final and race-free against a
   * payment marking it paid. Returns the ones it expired.
   */
  async expireOverdue(db: Queryable = this.pool, id?: string, limit = 100): Promise<Purchase[]> {
    const { rows } = await db.query<Row>(
      `UPDATE purchases SET status = 'expired', failure_code = 'purchase_expired',
              failure_message = 'the checkout was not paid in time', updated_at = now()
        WHERE id IN (SELECT id FROM purchases
                      WHERE status = 'awaiting_payment' AND created_at < now() - make_interval(secs => $1)
                        AND ($2::uuid IS NULL OR id = $2::uuid)
                      ORDER BY created_at LIMIT $3)
          AND status = 'awaiting_payment'
        RETURNING *`,
      [this.expirySeconds, id ?? null, limit],
    );
    const expired = rows.map(toPurchase);
    for (const p of expired) this.onExpired(p);
    return expired;
  }

  /** Checked on read, so an overdue purchase answers expired at once, between sweeps. */
  private async current(db: Queryable, r: Row | undefined): Promise<Purchase | null> {
    if (!r) return null;
    const p = toPurchase(r);
    if (p.status !== 'awaiting_payment' || Date.now() - p.createdAt.getTime() < this.expirySeconds * 1000) return p;
    const [expired] = await this.expireOverdue(db, p.id);
    return expired ?? toPurchase((await db.query<Row>('SELECT * FROM purchases WHERE id = $1', [p.id])).rows[0]!);
  }

  /**
   * Inserts the purchase, or returns the one already recorded under the same
   * idempotency key (`created: false`): a retried request never makes a second.
   */
  async create(p: NewPurchase): Promise<{ purchase: Purchase; created: boolean }> {
    const { rows } = await this.pool.query<Row>(
      `INSERT INTO purchases (id, tenant_id, customer_id, pack_id, pack_slug, credit_system, quantity, credits_micro, amount_minor,
                              currency, provider, source, status, idempotency_key, callback_url, metadata, pack_name, refund_policy)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'pending', $13, $14, $15, $16, $17)
       ON CONFLICT (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
       RETURNING *`,
      [
        p.id, p.tenantId, p.customerId, p.packId, p.packSlug, p.creditSystem, p.quantity, p.creditsMicro, p.amountMinor,
        p.currency, p.provider, p.source, p.idempotencyKey, p.callbackUrl, JSON.stringify(p.metadata), p.packName, p.refundPolicy,
      ],
    );
    if (rows[0]) return { purchase: toPurchase(rows[0]), created: true };
    const existing = await this.byIdempotencyKey(p.tenantId, p.idempotencyKey!);
    if (!existing) throw new Error('idempotency conflict without a row');
    return { purchase: existing, created: false };
  }

  async byIdempotencyKey(tenantId: string, key: string): Promise<Purchase | null> {
    const { rows } = await this.pool.query<Row>('SELECT * FROM purchases WHERE tenant_id = $1 AND idempotency_key = $2', [tenantId, key]);
    return this.current(this.pool, rows[0]);
  }

  async get(tenantId: string, id: string, db: Queryable = this.pool, forUpdate = false): Promise<Purchase | null> {
    const { rows } = await db.query<Row>(`SELECT * FROM purchases WHERE tenant_id = $1 AND id = $2${forUpdate ? ' FOR UPDATE' : ''}`, [
      tenantId,
      id,
    ]);
    return this.current(db, rows[0]);
  }

  /** The purchase a provider charge paid for (a provider-side refund or dispute names only the charge). */
  async byCharge(provider: string, chargeId: string): Promise<Purchase | null> {
    const { rows } = await this.pool.query<Row>('SELECT * FROM purchases WHERE provider = $1 AND charge_id = $2 ORDER BY created_at DESC LIMIT 1', [provider, chargeId]);
    return rows[0] ? toPurchase(rows[0]) : null;
  }

  /** For provider webhooks, which know the reference but not yet the tenant. */
  async getAnyTenant(id: string): Promise<Purchase | null> {
    const { rows } = await this.pool.query<Row>('SELECT * FROM purchases WHERE id = $1', [id]);
    return this.current(this.pool, rows[0]);
  }

  /**
   * One page of the tenant's purchases, newest first, plus one row to tell
   * whether there is more. `after` is the keyset of the last row answered:
   * created_at as UTC text with microseconds (createdKey) and the id.
   */
  async list(
    tenantId: string,
    opts: { limit: number; after?: readonly [string, string] | undefined; customerId?: string | undefined; status?: PurchaseStatus | undefined },
  ): Promise<Array<{ purchase: Purchase; createdKey: string }>> {
    const args: unknown[] = [tenantId];
    const where = ['tenant_id = $1'];
    if (opts.after) {
      args.push(opts.after[0], opts.after[1]);
      where.push(`(created_at, id) < ($${args.length - 1}::timestamptz, $${args.length}::uuid)`);
    }
    if (opts.customerId !== undefined) {
      args.push(opts.customerId);
      where.push(`customer_id = $${args.length}`);
    }
    if (opts.status !== undefined) {
      args.push(opts.status);
      where.push(`status = $${args.length}`);
    }
    args.push(opts.limit + 1);
    const { rows } = await this.pool.query<Row & { created_key: string }>(
      `SELECT *, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_key
         FROM purchases WHERE ${where.join(' AND ')}
        ORDER BY created_at DESC, id DESC LIMIT $${args.length}`,
      args,
    );
    return rows.map((r) => ({ purchase: toPurchase(r), createdKey: r.created_key }));
  }

  async startCharge(tenantId: string, id: string, paymentMethodId: string): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `UPDATE purchases SET status = 'charging', payment_method_id = $3, updated_at = now()
        WHERE tenant_id = $1 AND id = $2 AND status IN ('pending', 'charging')`,
      [tenantId, id, paymentMethodId],
    );
    return (rowCount ?? 0) > 0;
  }

  async awaitPayment(tenantId: string, id: string, checkoutId: string, checkoutUrl: string): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `UPDATE purchases SET status = 'awaiting_payment', checkout_id = $3, checkout_url = $4, updated_at = now()
        WHERE tenant_id = $1 AND id = $2 AND status = 'pending'`,
      [tenantId, id, checkoutId, checkoutUrl],
    );
    return (rowCount ?? 0) > 0;
  }

  async fail(tenantId: string, id: string, code: string, message: string): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `UPDATE purchases SET status = 'failed', failure_code = $3, failure_message = $4, updated_at = now()
        WHERE tenant_id = $1 AND id = $2 AND status IN ('pending', 'charging', 'awaiting_payment')`,
      [tenantId, id, code, message],
    );
    return (rowCount ?? 0) > 0;
  }

  async markPaid(db: Queryable, tenantId: string, id: string, chargeId: string): Promise<void> {
    await db.query(
      `UPDATE purchases SET status = 'paid', charge_id = $3, failure_code = NULL, failure_message = NULL, updated_at = now()
        WHERE tenant_id = $1 AND id = $2 AND status IN ('pending', 'charging', 'awaiting_payment', 'failed')`,
      [tenantId, id, chargeId],
    );
  }

  async markCompleted(tenantId: string, id: string): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `UPDATE purchases SET status = 'completed', completed_at = now(), updated_at = now()
        WHERE tenant_id = $1 AND id = $2 AND status = 'paid'`,
      [tenantId, id],
    );
    return (rowCount ?? 0) > 0;
  }

  async markRefunded(db: Queryable, tenantId: string, id: string): Promise<void> {
    await db.query(`UPDATE purchases SET status = 'refunded', updated_at = now() WHERE tenant_id = $1 AND id = $2 AND status = 'completed'`, [
      tenantId,
      id,
    ]);
  }

  /** Purchases stuck in a state a worker should move on from (lost job, crash between steps). */
  async stale(olderThanSeconds: number, limit = 100): Promise<Array<{ tenantId: string; id: string }>> {
    const { rows } = await this.pool.query<{ tenant_id: string; id: string }>(
      `SELECT tenant_id, id FROM purchases
        WHERE status IN ('pending', 'charging', 'paid') AND updated_at < now() - make_interval(secs => $1)
        ORDER BY updated_at LIMIT $2`,
      [olderThanSeconds, limit],
    );
    return rows.map((r) => ({ tenantId: r.tenant_id, id: r.id }));
  }

  /** Expired purchases whose hosted checkout may still be open at the provider (expired within `withinSeconds`). */
  async expiredWithOpenCheckout(withinSeconds: number, limit = 100): Promise<Array<{ id: string; tenantId: string; provider: string; checkoutId: string }>> {
    const { rows } = await this.pool.query<{ id: string; tenant_id: string; provider: string; checkout_id: string }>(
      `SELECT id, tenant_id, provider, checkout_id FROM purchases
        WHERE status = 'expired' AND checkout_id IS NOT NULL AND checkout_closed_at IS NULL
          AND updated_at > now() - make_interval(secs => $1)
        ORDER BY updated_at LIMIT $2`,
      [withinSeconds, limit],
    );
    return rows.map((r) => ({ id: r.id, tenantId: r.tenant_id, provider: r.provider, checkoutId: r.checkout_id }));
  }

  async markCheckoutClosed(id: string): Promise<void> {
    await this.pool.query('UPDATE purchases SET checkout_closed_at = now() WHERE id = $1 AND checkout_closed_at IS NULL', [id]);
  }
}
