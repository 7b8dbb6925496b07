import { randomUUID } from 'node:crypto';
import type { Pool } from '@tally/postgres';
import { asDependencyError, withTransaction } from '@tally/postgres';
import { generateSecretKey, hashSecretKey, keyPrefix, looksLikeSecretKey } from './api-keys.ts';

export interface TenantIdentity {
  tenantId: string;
  organizationId: string;
  environment: 'test' | 'live';
  apiKeyId: string;
}

export interface CreatedTenant {
  organizationId: string;
  tenantId: string;
  environment: 'test' | 'live';
  apiKey: { id: string; prefix: string; secret: string };
}

const CACHE_TTL_MS = 60_000;

/** Organisations, their environments (tenants) and secret API keys. */
export class TenantService {
  // Authenticated keys are cached briefly so the hot path does no query per request.
  private readonly cache = new Map<string, { identity: TenantIdentity | null; until: number }>();

  constructor(private readonly pool: Pool) {}

  /** Creates an organisation with one environment and its first key; the secret is returned once. */
  async createTenant(name: string, environment: 'test' | 'live' = 'test'): Promise<CreatedTenant> {
    const organizationId = randomUUID();
    const tenantId = randomUUID();
    return withTransaction(this.pool, async (tx) => {
      await tx.query('INSERT INTO organizations (id, name) VALUES ($1, $2)', [organizationId, name]);
      await tx.query('INSERT INTO tenants (id, organization_id, environment) VALUES ($1, $2, $3)', [
        tenantId,
        organizationId,
        environment,
      ]);
      await tx.query('INSERT INTO catalog_versions (tenant_id, version) VALUES ($1, 0)', [tenantId]);
      const apiKey = await this.insertKey(tx, tenantId, environment, 'default');
      return { organizationId, tenantId, environment, apiKey };
    });
  }

  async createKey(tenantId: string, name: string): Promise<CreatedTenant['apiKey']> {
    const { rows } = await this.pool.query<{ environment: 'test' | 'live' }>('SELECT environment FROM tenants WHERE id = $1', [tenantId]);
    const env = rows[0]?.environment;
    if (!env) throw new Error(`unknown tenant ${tenantId}`);
    return this.insertKey(this.pool, tenantId, env, name);
  }

  private async insertKey(
    db: Pick<Pool, 'query'>,
    tenantId: string,
    environment: 'test' | 'live',
    name: string,
  ): Promise<CreatedTenant['apiKey']> {
    const id = randomUUID();
    const secret = generateSecretKey(environment);
    await db.query('INSERT INTO api_keys (id, tenant_id, name, prefix, key_hash) VALUES ($1, $2, $3, $4, $5)', [
      id,
      tenantId,
      name,
      keyPrefix(secret),
      hashSecretKey(secret),
    ]);
    return { id, prefix: keyPrefix(secret), secret };
  }

  /** The tenant a secret key belongs to, or null for unknown/revoked/malformed keys. */
  async authenticate(secret: string): Promise<TenantIdentity | null> {
    if (!looksLikeSecretKey(secret)) return null;
    const digest = hashSecretKey(secret).toString('hex');
    const cached = this.cache.get(digest);
    if (cached && cached.until > Date.now()) return cached.identity;
    let identity: TenantIdentity | null = null;
    try {
      const { rows } = await this.pool.query<{ id: string; tenant_id: string; organization_id: string; environment: 'test' | 'live' }>(
        `SELECT k.id, k.tenant_id, t.organization_id, t.environment
           FROM api_keys k JOIN tenants t ON t.id = k.tenant_id
          WHERE k.key_hash = $1 AND k.revoked_at IS NULL`,
        [hashSecretKey(secret)],
      );
      const row = rows[0];
      if (row) identity = { tenantId: row.tenant_id, organizationId: row.organization_id, environment: row.environment, apiKeyId: row.id };
    } catch (err) {
      throw asDependencyError(err);
    }
    this.cache.set(digest, { identity, until: Date.now() + CACHE_TTL_MS });
    return identity;
  }

  async revokeKey(tenantId: string, keyId: string): Promise<boolean> {
    const { rowCount } = await this.pool.query('UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND tenant_id = $2 AND revoked_at IS NULL', [
      keyId,
      tenantId,
    ]);
    this.cache.clear();
    return (rowCount ?? 0) > 0;
  }
}
