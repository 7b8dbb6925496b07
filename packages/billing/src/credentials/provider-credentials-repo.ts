import type { Pool } from '@tally/postgres';

/** A tenant's provider keys as stored: sealed, with the hint that may be shown. */
export interface SealedKeys {
  secretKeySealed: string;
  webhookSealed: string;
  keyHint: string;
}

export interface ProviderCredentialsStore {
  upsert(tenantId: string, provider: string, keys: SealedKeys): Promise<{ keyHint: string; updatedAt: Date }>;
  find(tenantId: string, provider: string): Promise<(SealedKeys & { updatedAt: Date }) | null>;
  remove(tenantId: string, provider: string): Promise<boolean>;
}

/** tenant_provider_credentials in Postgres. */
export class ProviderCredentialsRepo implements ProviderCredentialsStore {
  constructor(private readonly pool: Pool) {}

  async upsert(tenantId: string, provider: string, keys: SealedKeys): Promise<{ keyHint: string; updatedAt: Date }> {
    const { rows } = await this.pool.query<{ key_hint: string; updated_at: Date }>(
      `INSERT INTO tenant_provider_credentials (tenant_id, provider, secret_key_sealed, webhook_sealed, key_hint)
       VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (tenant_id, provider) DO UPDATE SET secret_key_sealed = EXCLUDED.secret_key_sealed,
         webhook_sealed = EXCLUDED.webhook_sealed, key_hint = EXCLUDED.key_hint, updated_at = clock_timestamp()
       RETURNING key_hint, updated_at`,
      [tenantId, provider, keys.secretKeySealed, keys.webhookSealed, keys.keyHint],
    );
    return { keyHint: rows[0]!.key_hint, updatedAt: rows[0]!.updated_at };
  }

  async find(tenantId: string, provider: string): Promise<(SealedKeys & { updatedAt: Date }) | null> {
    const { rows } = await this.pool.query<{ secret_key_sealed: string; webhook_sealed: string; key_hint: string; updated_at: Date }>(
      'SELECT secret_key_sealed, webhook_sealed, key_hint, updated_at FROM tenant_provider_credentials WHERE tenant_id = $1 AND provider = $2',
      [tenantId, provider],
    );
    const r = rows[0];
    return r ? { secretKeySealed: r.secret_key_sealed, webhookSealed: r.webhook_sealed, keyHint: r.key_hint, updatedAt: r.updated_at } : null;
  }

  async remove(tenantId: string, provider: string): Promise<boolean> {
    const { rowCount } = await this.pool.query('DELETE FROM tenant_provider_credentials WHERE tenant_id = $1 AND provider = $2', [tenantId, provider]);
    return (rowCount ?? 0) > 0;
  }
}
