import type { Pool } from '@tally/postgres';
import { keys, type RedisClient } from '@tally/redis';

/** balance.low thresholds per tenant and credit system (micro-credits). */
export interface AlertThresholds {
  set(tenantId: string, creditSystem: string, lowMicro: bigint): Promise<void>;
  get(tenantId: string, creditSystem: string): Promise<bigint | null>;
  /** Whether there was one to remove. */
  remove(tenantId: string, creditSystem: string): Promise<boolean>;
}

/** "Already alerted" flags, one per customer, credit system and kind, shared by every process. */
export interface AlertFlags {
  isSet(ref: AlertFlagRef): Promise<boolean>;
  /** Sets the flag if it was not; true only for the caller that set it. */
  setOnce(ref: AlertFlagRef): Promise<boolean>;
  clear(ref: AlertFlagRef): Promise<void>;
}

export interface AlertFlagRef {
  tenantId: string;
  customerId: string;
  creditSystem: string;
  type: string;
}

/** balance_alerts in Postgres. */
export class AlertThresholdRepo implements AlertThresholds {
  constructor(private readonly pool: Pool) {}

  async set(tenantId: string, creditSystem: string, lowMicro: bigint): Promise<void> {
    await this.pool.query(
      `INSERT INTO balance_alerts (tenant_id, credit_system, low_threshold_micro) VALUES ($1, $2, $3)
       ON CONFLICT (tenant_id, credit_system) DO UPDATE SET low_threshold_micro = EXCLUDED.low_threshold_micro, updated_at = now()`,
      [tenantId, creditSystem, lowMicro],
    );
  }

  async get(tenantId: string, creditSystem: string): Promise<bigint | null> {
    const { rows } = await this.pool.query<{ low_threshold_micro: bigint }>(
      'SELECT low_threshold_micro FROM balance_alerts WHERE tenant_id = $1 AND credit_system = $2',
      [tenantId, creditSystem],
    );
    return rows[0]?.low_threshold_micro ?? null;
  }

  async remove(tenantId: string, creditSystem: string): Promise<boolean> {
    const { rowCount } = await this.pool.query('DELETE FROM balance_alerts WHERE tenant_id = $1 AND credit_system = $2', [tenantId, creditSystem]);
    return (rowCount ?? 0) > 0;
  }
}

/** The flags in Redis (in the customer's hash slot). */
export class RedisAlertFlags implements AlertFlags {
  constructor(private readonly redis: RedisClient) {}

  private key(ref: AlertFlagRef): string {
    return keys.custom('billing', 'alert', keys.customerTag(ref.tenantId, ref.customerId), ref.creditSystem, ref.type);
  }

  async isSet(ref: AlertFlagRef): Promise<boolean> {
    return (await this.redis.exists(this.key(ref))) > 0;
  }

  async setOnce(ref: AlertFlagRef): Promise<boolean> {
    return (await this.redis.set(this.key(ref), '1', 'NX')) === 'OK';
  }

  async clear(ref: AlertFlagRef): Promise<void> {
    await this.redis.del(this.key(ref));
  }
}
