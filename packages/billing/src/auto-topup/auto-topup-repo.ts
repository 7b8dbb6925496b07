import type { Pool } from '@tally/postgres';
import { keys, type RedisClient } from '@tally/redis';
import type { AutoTopupSettings } from './auto-topup-service.ts';

export interface AutoTopupKey {
  tenantId: string;
  customerId: string;
  creditSystem: string;
}

export interface AutoTopupStore {
  upsert(k: AutoTopupKey, s: { thresholdMicro: bigint; packId: string; quantity: number; enabled: boolean }): Promise<void>;
  /** Whether there was one to remove. */
  remove(k: AutoTopupKey): Promise<boolean>;
  get(k: AutoTopupKey): Promise<AutoTopupSettings | null>;
  recordPurchase(k: AutoTopupKey, purchaseId: string): Promise<void>;
  disable(k: AutoTopupKey, reason: string): Promise<void>;
  /** Switches back on every setting of the customer a decline switched off. */
  reenableAfterDecline(tenantId: string, customerId: string): Promise<void>;
}

/** The per-customer, per-system lock that lets one top-up through at a time. */
export interface AutoTopupLocks {
  /** True for the one caller that took it (it lapses after `ms`). */
  acquire(k: AutoTopupKey, ms: number): Promise<boolean>;
  release(k: AutoTopupKey): Promise<void>;
}

/** auto_topups in Postgres. */
export class AutoTopupRepo implements AutoTopupStore {
  constructor(private readonly pool: Pool) {}

  async upsert(k: AutoTopupKey, s: { thresholdMicro: bigint; packId: string; quantity: number; enabled: boolean }): Promise<void> {
    await this.pool.query(
      `INSERT INTO auto_topups (tenant_id, customer_id, credit_system, threshold_micro, pack_id, quantity, enabled, disabled_reason)
       VALUES ($1, $2, $3, $4, $5, $6, $7, NULL)
       ON CONFLICT (tenant_id, customer_id, credit_system) DO UPDATE SET threshold_micro = EXCLUDED.threshold_micro,
         pack_id = EXCLUDED.pack_id, quantity = EXCLUDED.quantity, enabled = EXCLUDED.enabled, disabled_reason = NULL, updated_at = now()`,
      [k.tenantId, k.customerId, k.creditSystem, s.thresholdMicro, s.packId, s.quantity, s.enabled],
    );
  }

  async remove(k: AutoTopupKey): Promise<boolean> {
    const { rowCount } = await this.pool.query('DELETE FROM auto_topups WHERE tenant_id = $1 AND customer_id = $2 AND credit_system = $3', [
      k.tenantId,
      k.customerId,
      k.creditSystem,
    ]);
    return (rowCount ?? 0) > 0;
  }

  async get(k: AutoTopupKey): Promise<AutoTopupSettings | null> {
    const { rows } = await this.pool.query<{
      threshold_micro: bigint;
      pack_id: string;
      quantity: number;
      enabled: boolean;
      disabled_reason: string | null;
      slug: string | null;
    }>(
      `SELECT a.threshold_micro, a.pack_id, a.quantity, a.enabled, a.disabled_reason, p.slug
         FROM auto_topups a LEFT JOIN credit_packs p ON p.id = a.pack_id AND p.tenant_id = a.tenant_id
        WHERE a.tenant_id = $1 AND a.customer_id = $2 AND a.credit_system = $3`,
      [k.tenantId, k.customerId, k.creditSystem],
    );
    const r = rows[0];
    return r
      ? {
          customerId: k.customerId,
          creditSystem: k.creditSystem,
          thresholdMicro: r.threshold_micro,
          packId: r.pack_id,
          packSlug: r.slug ?? r.pack_id,
          quantity: r.quantity,
          enabled: r.enabled,
          disabledReason: r.disabled_reason,
        }
      : null;
  }

  async recordPurchase(k: AutoTopupKey, purchaseId: string): Promise<void> {
    await this.pool.query('UPDATE auto_topups SET last_purchase_id = $4 WHERE tenant_id = $1 AND customer_id = $2 AND credit_system = $3', [
      k.tenantId,
      k.customerId,
      k.creditSystem,
      purchaseId,
    ]);
  }

  async disable(k: AutoTopupKey, reason: string): Promise<void> {
    await this.pool.query(
      `UPDATE auto_topups SET enabled = false, disabled_reason = $4, updated_at = now()
        WHERE tenant_id = $1 AND customer_id = $2 AND credit_system = $3`,
      [k.tenantId, k.customerId, k.creditSystem, reason],
    );
  }

  async reenableAfterDecline(tenantId: string, customerId: string): Promise<void> {
    await this.pool.query(
      `UPDATE auto_topups SET enabled = true, disabled_reason = NULL, updated_at = now()
        WHERE tenant_id = $1 AND customer_id = $2 AND enabled = false AND disabled_reason IS NOT NULL`,
      [tenantId, customerId],
    );
  }
}

/** SET NX PX in Redis, in the customer's hash slot. */
export class RedisAutoTopupLocks implements AutoTopupLocks {
  constructor(private readonly redis: RedisClient) {}

  private key(k: AutoTopupKey): string {
    return keys.custom('billing', 'auto-topup', keys.customerTag(k.tenantId, k.customerId), k.creditSystem);
  }

  async acquire(k: AutoTopupKey, ms: number): Promise<boolean> {
    return (await this.redis.set(this.key(k), '1', 'PX', ms, 'NX')) === 'OK';
  }

  async release(k: AutoTopupKey): Promise<void> {
    await this.redis.del(this.key(k));
  }
}
