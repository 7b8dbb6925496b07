import { createHash, randomBytes } from 'node:crypto';
import { withTransaction, type Pool, type Queryable } from '@tally/postgres';
import type { SandboxEvent } from './events.ts';

/**
 * The sandbox provider's own records (sessions, saved cards, charges,
 * refunds, sent events), kept in Postgres tables prefixed `sandbox_`: what a
 * real provider would hold on its side. Every row carries the tenant.
 */
export interface SandboxSession {
  id: string;
  tenantId: string;
  mode: 'payment' | 'setup';
  reference: string;
  customerRef: string;
  description: string;
  quantity: number;
  amountMinor: bigint;
  currency: string;
  successUrl: string | null;
  cancelUrl: string | null;
  status: 'open' | 'paid' | 'declined' | 'completed';
}

export interface SandboxCard {
  id: string;
  customerRef: string;
  number: string;
  brand: string;
  last4: string;
  expMonth: number;
  expYear: number;
}

export interface SandboxCharge {
  id: string;
  status: 'succeeded' | 'declined';
  declineCode: string | null;
  amountMinor: bigint;
  refundedMinor: bigint;
}

export const sandboxId = (prefix: string) => `${prefix}_${randomBytes(12).toString('hex')}`;

/** The idempotency key of the charge a hosted payment page makes: one per session. */
export const sessionChargeKey = (sessionId: string) => `session:${sessionId}`;

/** A deterministic id from an idempotency key: the same key names the same object. */
export const keyedId = (prefix: string, tenantId: string, key: string) =>
  `${prefix}_${createHash('sha256').update(`${tenantId}:${key}`).digest('hex').slice(0, 24)}`;

type SessionRow = {
  id: string;
  tenant_id: string;
  mode: 'payment' | 'setup';
  reference: string;
  customer_ref: string;
  description: string;
  quantity: number;
  amount_minor: bigint;
  currency: string;
  success_url: string | null;
  cancel_url: string | null;
  status: SandboxSession['status'];
};

const toSession = (r: SessionRow): SandboxSession => ({
  id: r.id,
  tenantId: r.tenant_id,
  mode: r.mode,
  reference: r.reference,
  customerRef: r.customer_ref,
  description: r.description,
  quantity: r.quantity,
  amountMinor: r.amount_minor,
  currency: r.currency,
  successUrl: r.success_url,
  cancelUrl: r.cancel_url,
  status: r.status,
});

export class SandboxStore {
  constructor(private readonly pool: Pool) {}

  /** Runs `fn` in one transaction (the `db` of the methods that take one). */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return withTransaction(this.pool, fn);
  }

  async createSession(s: Omit<SandboxSession, 'status'>): Promise<SandboxSession> {
    await this.pool.query(
      `INSERT INTO sandbox_sessions (id, tenant_id, mode, reference, customer_ref, description, quantity, amount_minor, currency, success_url, cancel_url)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (id) DO NOTHING`,
      [s.id, s.tenantId, s.mode, s.reference, s.customerRef, s.description, s.quantity, s.amountMinor, s.currency, s.successUrl, s.cancelUrl],
    );
    const found = await this.session(s.id);
    if (!found) throw new Error(`sandbox session ${s.id} vanished`);
    return found;
  }

  async session(id: string): Promise<SandboxSession | null> {
    const { rows } = await this.pool.query<SessionRow>('SELECT * FROM sandbox_sessions WHERE id = $1', [id]);
    return rows[0] ? toSession(rows[0]) : null;
  }

  /** Moves an open session to its final status; false when someone else already did. */
  async closeSession(db: Queryable, id: string, status: 'paid' | 'completed'): Promise<boolean> {
    const { rowCount } = await db.query(`UPDATE sandbox_sessions SET status = $2 WHERE id = $1 AND status = 'open'`, [id, status]);
    return (rowCount ?? 0) > 0;
  }

  async saveCard(db: Queryable, tenantId: string, card: SandboxCard): Promise<void> {
    await db.query(
      `INSERT INTO sandbox_cards (id, tenant_id, customer_ref, number, brand, last4, exp_month, exp_year)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING`,
      [card.id, tenantId, card.customerRef, card.number, card.brand, card.last4, card.expMonth, card.expYear],
    );
  }

  async card(tenantId: string, id: string): Promise<SandboxCard | null> {
    const { rows } = await this.pool.query<{
      id: string;
      customer_ref: string;
      number: string;
      brand: string;
      last4: string;
      exp_month: number;
      exp_year: number;
    }>('SELECT * FROM sandbox_cards WHERE tenant_id = $1 AND id = $2', [tenantId, id]);
    const r = rows[0];
    return r
      ? { id: r.id, customerRef: r.customer_ref, number: r.number, brand: r.brand, last4: r.last4, expMonth: r.exp_month, expYear: r.exp_year }
      : null;
  }

  /**
   * Records a charge under its idempotency key, or returns the charge already
   * recorded under that key (whatever outcome the new call would have had).
   */
  async charge(
    db: Queryable | null,
    tenantId: string,
    c: { idempotencyKey: string; amountMinor: bigint; currency: string; cardId: string | null; status: 'succeeded' | 'declined'; declineCode: string | null },
  ): Promise<SandboxCharge> {
    db ??= this.pool;
    await db.query(
      `INSERT INTO sandbox_charges (id, tenant_id, idempotency_key, amount_minor, currency, card_id, status, decline_code)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (tenant_id, idempotency_key) DO NOTHING`,
      [sandboxId('ch_sbx'), tenantId, c.idempotencyKey, c.amountMinor, c.currency, c.cardId, c.status, c.declineCode],
    );
    const { rows } = await db.query<{ id: string; status: 'succeeded' | 'declined'; decline_code: string | null; amount_minor: bigint; refunded_minor: bigint }>(
      'SELECT id, status, decline_code, amount_minor, refunded_minor FROM sandbox_charges WHERE tenant_id = $1 AND idempotency_key = $2',
      [tenantId, c.idempotencyKey],
    );
    const r = rows[0]!;
    return { id: r.id, status: r.status, declineCode: r.decline_code, amountMinor: r.amount_minor, refundedMinor: r.refunded_minor };
  }

  /** One charge as the sandbox recorded it: what it took, in which currency. */
  async chargeById(
    tenantId: string,
    id: string,
  ): Promise<{ id: string; idempotencyKey: string; status: 'succeeded' | 'declined'; amountMinor: bigint; currency: string } | null> {
    const { rows } = await this.pool.query<{ id: string; idempotency_key: string; status: 'succeeded' | 'declined'; amount_minor: bigint; currency: string }>(
      'SELECT id, idempotency_key, status, amount_minor, currency FROM sandbox_charges WHERE tenant_id = $1 AND id = $2',
      [tenantId, id],
    );
    const r = rows[0];
    return r ? { id: r.id, idempotencyKey: r.idempotency_key, status: r.status, amountMinor: r.amount_minor, currency: r.currency } : null;
  }

  /** Charges recorded for one idempotency key prefix or customer; used by tests to prove "charged once". */
  async chargesByKey(tenantId: string, idempotencyKey: string): Promise<number> {
    const { rows } = await this.pool.query<{ n: bigint }>(
      'SELECT count(*)::bigint AS n FROM sandbox_charges WHERE tenant_id = $1 AND idempotency_key = $2',
      [tenantId, idempotencyKey],
    );
    return Number(rows[0]?.n ?? 0n);
  }

  async refund(tenantId: string, r: { idempotencyKey: string; chargeId: string; amountMinor: bigint }): Promise<string> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const { rows: charges } = await client.query<{ status: string; amount_minor: bigint; refunded_minor: bigint }>(
        'SELECT status, amount_minor, refunded_minor FROM sandbox_charges WHERE tenant_id = $1 AND id = $2 FOR UPDATE',
        [tenantId, r.chargeId],
      );
      const charge = charges[0];
      if (!charge || charge.status !== 'succeeded') throw new Error(`no succeeded sandbox charge ${r.chargeId}`);
      const id = keyedId('re_sbx', tenantId, r.idempotencyKey);
      const inserted = await client.query(
        `INSERT INTO sandbox_refunds (id, tenant_id, idempotency_key, charge_id, amount_minor)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id, idempotency_key) DO NOTHING`,
        [id, tenantId, r.idempotencyKey, r.chargeId, r.amountMinor],
      );
      if (inserted.rowCount) {
        if (charge.refunded_minor + r.amountMinor > charge.amount_minor) throw new Error('refund exceeds the charge');
        await client.query('UPDATE sandbox_charges SET refunded_minor = refunded_minor + $3 WHERE tenant_id = $1 AND id = $2', [
          tenantId,
          r.chargeId,
          r.amountMinor,
        ]);
      }
      await client.query('COMMIT');
      return id;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }

  async recordEvent(db: Queryable, tenantId: string, event: { id: string; type: string }): Promise<void> {
    await db.query('INSERT INTO sandbox_events (id, tenant_id, type, payload) VALUES ($1, $2, $3, $4)', [
      event.id,
      tenantId,
      event.type,
      JSON.stringify(event),
    ]);
  }

  /**
   * Events Tally has not acknowledged (no provider_events row, which its receiver
   * writes after acting on one), sent at least `minAgeSeconds` and at most 3 days ago.
   */
  async unacknowledgedEvents(minAgeSeconds: number, limit: number): Promise<SandboxEvent[]> {
    const { rows } = await this.pool.query<{ payload: SandboxEvent }>(
      `SELECT e.payload FROM sandbox_events e
        WHERE e.created_at < now() - make_interval(secs => $1) AND e.created_at > now() - interval '3 days'
          AND NOT EXISTS (SELECT 1 FROM provider_events p WHERE p.provider = 'sandbox' AND p.event_id = e.id)
        ORDER BY e.created_at LIMIT $2`,
      [minAgeSeconds, limit],
    );
    return rows.map((r) => r.payload);
  }

  /** The merchant tenant's environment ('test' or 'live'), or null for an unknown tenant. */
  async tenantEnvironment(tenantId: string): Promise<string | null> {
    const { rows } = await this.pool.query<{ environment: string }>('SELECT environment FROM tenants WHERE id = $1', [tenantId]);
    return rows[0]?.environment ?? null;
  }

  /** Whether Tally's purchase behind a payment session expired or is overdue (awaiting payment past `expirySeconds`). */
  async purchaseExpired(tenantId: string, reference: string, expirySeconds: number): Promise<boolean> {
    const { rows } = await this.pool.query<{ expired: boolean }>(
      `SELECT status = 'expired' OR (status = 'awaiting_payment' AND created_at < now() - make_interval(secs => $3)) AS expired
         FROM purchases WHERE tenant_id = $1 AND id::text = $2`,
      [tenantId, reference, expirySeconds],
    );
    return rows[0]?.expired === true;
  }
}
