import { randomUUID } from 'node:crypto';
import type { Pool } from '@tally/postgres';
import { asDependencyError, withTransaction } from '@tally/postgres';
import { DependencyUnavailableError } from '@tally/runtime';
import { catalogErrors } from '../errors.ts';
import { noChangeBus, type ChangeBus } from '../changes.ts';
import { generateSecretKey, hashSecretKey, keyPrefix, looksLikeSecretKey } from './api-keys.ts';
import { KeyCache, type KeyCacheOptions } from './key-cache.ts';

export interface TenantIdentity {
  tenantId: string;
  organizationId: string;
  environment: 'test' | 'live';
  apiKeyId: string;
  /** When a rotated key stops working (epoch ms); absent: no expiry. */
  expiresAt?: number;
}

export interface CreatedTenant {
  organizationId: string;
  tenantId: string;
  environment: 'test' | 'live';
  apiKey: { id: string; prefix: string; secret: string };
}

/** A key as its tenant may see it: never the secret, nor its digest. */
export interface ApiKeyView {
  id: string;
  name: string;
  prefix: string;
  environment: 'test' | 'live';
  createdAt: string;
  revokedAt: string | null;
  /** A rotated key: when it stops working (the end of its overlap window). */
  expiresAt: string | null;
  tenantId: string;
}

export interface TenantServiceOptions {
  /** Revocations are published here and heard from every process (reset: the whole key cache goes). */
  changes?: ChangeBus;
  cache?: KeyCacheOptions;
}

/** Active keys one tenant may hold; a leaked key creating keys in a loop stops here. */
export const MAX_ACTIVE_KEYS = 100;

interface KeyRow {
  id: string;
  name: string;
  prefix: string;
  environment: 'test' | 'live';
  created_at: Date;
  revoked_at: Date | null;
  expires_at: Date | null;
  tenant_id: string;
}

const toView = (r: KeyRow): ApiKeyView => ({
  id: r.id,
  name: r.name,
  prefix: r.prefix,
  environment: r.environment,
  createdAt: r.created_at.toISOString(),
  revokedAt: r.revoked_at?.toISOString() ?? null,
  expiresAt: r.expires_at?.toISOString() ?? null,
  tenantId: r.tenant_id,
});

/** The longest overlap a rotation may give the old key. */
export const MAX_ROTATION_OVERLAP_S = 7 * 86_400;

const expired = (identity: TenantIdentity) => identity.expiresAt !== undefined && identity.expiresAt <= Date.now();

/** Organisations, their environments (tenants) and secret API keys. */
export class TenantService {
  // Keys are cached so the hot path does no query per request (key-cache.ts: bounds and TTLs).
  private readonly cache: KeyCache<TenantIdentity>;
  // One Postgres lookup per digest at a time, however many requests present it at once.
  private readonly lookups = new Map<string, Promise<TenantIdentity | null>>();
  private readonly changes: ChangeBus;

  constructor(
    private readonly pool: Pool,
    options: TenantServiceOptions = {},
  ) {
    this.cache = new KeyCache(options.cache);
    this.changes = options.changes ?? noChangeBus;
    this.changes.subscribe((c) => {
      if (c.kind === 'apiKey') this.cache.dropKey(c.keyId);
      else if (c.kind === 'reset') this.cache.clear();
    });
  }

  /** Entries held by the key cache (known and unknown keys). */
  get cacheSize(): { known: number; unknown: number } {
    return this.cache.size;
  }

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

  /** A new key for the tenant; the secret is returned once. At most MAX_ACTIVE_KEYS active keys (409 past it). */
  /** Whether a tenant with this id exists (operator routes answer tenant_not_found otherwise). */
  async exists(tenantId: string): Promise<boolean> {
    const { rowCount } = await this.pool.query('SELECT 1 FROM tenants WHERE id = $1', [tenantId]);
    return (rowCount ?? 0) > 0;
  }

  async createKey(tenantId: string, name: string): Promise<CreatedTenant['apiKey'] & { view: ApiKeyView }> {
    return withTransaction(this.pool, async (tx) => {
      // the tenant row is the lock: concurrent creates count one after the other
      const { rows } = await tx.query<{ environment: 'test' | 'live' }>('SELECT environment FROM tenants WHERE id = $1 FOR UPDATE', [tenantId]);
      const env = rows[0]?.environment;
      if (!env) throw catalogErrors.tenant_not_found(`unknown tenant ${tenantId}`);
      const { rows: count } = await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM api_keys WHERE tenant_id = $1 AND revoked_at IS NULL', [tenantId]);
      if ((count[0]?.n ?? 0) >= MAX_ACTIVE_KEYS) {
        throw catalogErrors.too_many_api_keys(`a tenant holds at most ${MAX_ACTIVE_KEYS} active keys; revoke one first`);
      }
      const key = await this.insertKey(tx, tenantId, env, name);
      const view = await this.keyRow(tx, tenantId, key.id);
      return { ...key, view: toView(view!) };
    });
  }

  /** The tenant's keys, newest first, revoked ones included. */
  /**
   * The tenant's keys, newest first, revoked ones included: `limit` rows after the keyset `after`
   * (created_at as UTC text with microseconds, id), plus one to tell whether there is more.
   */
  async listKeys(
    tenantId: string,
    page: { limit: number; after?: readonly [string, string] | undefined },
  ): Promise<Array<ApiKeyView & { createdKey: string }>> {
    const args: unknown[] = [tenantId];
    let after = '';
    if (page.after) {
      args.push(page.after[0], page.after[1]);
      after = ' AND (k.created_at, k.id) < ($2::timestamptz, $3::uuid)';
    }
    args.push(page.limit + 1);
    const { rows } = await this.pool.query<KeyRow & { created_key: string }>(
      `SELECT k.id, k.name, k.prefix, t.environment, k.created_at, k.revoked_at, k.expires_at, k.tenant_id,
              to_char(k.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_key
         FROM api_keys k JOIN tenants t ON t.id = k.tenant_id
        WHERE k.tenant_id = $1${after} ORDER BY k.created_at DESC, k.id DESC LIMIT $${args.length}`,
      args,
    );
    return rows.map((r) => ({ ...toView(r), createdKey: r.created_key }));
  }

  private async keyRow(db: Pick<Pool, 'query'>, tenantId: string, keyId: string): Promise<KeyRow | undefined> {
    const { rows } = await db.query<KeyRow>(
      `SELECT k.id, k.name, k.prefix, t.environment, k.created_at, k.revoked_at, k.expires_at, k.tenant_id
         FROM api_keys k JOIN tenants t ON t.id = k.tenant_id
        WHERE k.tenant_id = $1 AND k.id = $2`,
      [tenantId, keyId],
    );
    return rows[0];
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
    // A cached rotated key stops at its expiry on every process, with no message needed.
    if (cached) return cached.value && expired(cached.value) ? null : cached.value;
    const running = this.lookups.get(digest);
    if (running) return running;
    const lookup = this.lookup(secret, digest).finally(() => this.lookups.delete(digest));
    this.lookups.set(digest, lookup);
    return lookup;
  }

  /** Only a key this process has cached as valid: no query (callers decide whether a lookup is allowed). */
  cachedIdentity(secret: string): TenantIdentity | null {
    if (!looksLikeSecretKey(secret)) return null;
    const cached = this.cache.get(hashSecretKey(secret).toString('hex'));
    return cached?.found && cached.value && !expired(cached.value) ? cached.value : null;
  }

  private async lookup(secret: string, digest: string): Promise<TenantIdentity | null> {
    const token = this.cache.begin();
    let identity: TenantIdentity | null = null;
    try {
      const { rows } = await this.pool.query<{ id: string; tenant_id: string; organization_id: string; environment: 'test' | 'live'; expires_at: Date | null }>(
        `SELECT k.id, k.tenant_id, t.organization_id, t.environment, k.expires_at
           FROM api_keys k JOIN tenants t ON t.id = k.tenant_id
          WHERE k.key_hash = $1 AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > now())`,
        [hashSecretKey(secret)],
      );
      const row = rows[0];
      if (row) {
        identity = { tenantId: row.tenant_id, organizationId: row.organization_id, environment: row.environment, apiKeyId: row.id };
        if (row.expires_at) identity.expiresAt = row.expires_at.getTime();
      }
    } catch (err) {
      throw asDependencyError(err);
    }
    this.cache.set(digest, identity, token);
    return identity;
  }

  /**
   * Rotates a key: a new key with the same name (its secret returned once),
   * and the old one keeps working for `overlapSeconds` (0: revoked at once)
   * so deployments can switch without a failed call. Every process drops its
   * cached copy of the old key before this resolves; after the window each
   * process refuses it by the expiry it cached, with no message needed.
   */
  async rotateKey(tenantId: string, keyId: string, overlapSeconds: number): Promise<{ rotated: ApiKeyView; created: CreatedTenant['apiKey'] & { view: ApiKeyView } }> {
    const result = await withTransaction(this.pool, async (tx) => {
      const { rows } = await tx.query<KeyRow>(
        `SELECT k.id, k.name, k.prefix, t.environment, k.created_at, k.revoked_at, k.expires_at, k.tenant_id
           FROM api_keys k JOIN tenants t ON t.id = k.tenant_id
          WHERE k.tenant_id = $1 AND k.id = $2 FOR UPDATE OF k`,
        [tenantId, keyId],
      );
      const old = rows[0];
      if (!old) throw catalogErrors.api_key_not_found(`no API key ${keyId}`);
      if (old.revoked_at || old.expires_at) throw catalogErrors.api_key_not_rotatable(`API key ${keyId} is revoked or already rotated`);
      if (overlapSeconds === 0) await tx.query('UPDATE api_keys SET revoked_at = now() WHERE id = $1', [keyId]);
      else await tx.query("UPDATE api_keys SET expires_at = now() + make_interval(secs => $2) WHERE id = $1", [keyId, overlapSeconds]);
      const key = await this.insertKey(tx, tenantId, old.environment, old.name);
      const [rotated, fresh] = [await this.keyRow(tx, tenantId, keyId), await this.keyRow(tx, tenantId, key.id)];
      return { rotated: toView(rotated!), created: { ...key, view: toView(fresh!) } };
    }).catch((err: unknown) => {
      throw asDependencyError(err);
    });
    this.cache.dropKey(keyId);
    await this.changes.publish({ kind: 'apiKey', tenantId, keyId }).catch((err: unknown) => {
      throw new DependencyUnavailableError('redis', err);
    });
    return result;
  }

  /**
   * Revokes one of the tenant's keys and tells every process, whose caches
   * drop it before this resolves. Revoking a revoked key changes nothing and
   * answers it as it is. `callerKeyId` (the key making the call) may not
   * revoke itself: a tenant can never lock itself out of its last key.
   */
  async revokeKey(tenantId: string, keyId: string, options: { callerKeyId?: string } = {}): Promise<ApiKeyView> {
    if (options.callerKeyId === keyId) {
      throw catalogErrors.cannot_revoke_current_key('the key making this call cannot revoke itself; revoke it with another key');
    }
    await this.pool
      .query('UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND tenant_id = $2 AND revoked_at IS NULL', [keyId, tenantId])
      .catch((err: unknown) => {
        throw asDependencyError(err);
      });
    const row = await this.keyRow(this.pool, tenantId, keyId);
    if (!row) throw catalogErrors.api_key_not_found(`no API key ${keyId}`);
    this.cache.dropKey(keyId);
    // Committed already; a failed publish is a 503 so the caller retries (revoking again publishes again).
    await this.changes.publish({ kind: 'apiKey', tenantId, keyId }).catch((err: unknown) => {
      throw new DependencyUnavailableError('redis', err);
    });
    return toView(row);
  }
}
