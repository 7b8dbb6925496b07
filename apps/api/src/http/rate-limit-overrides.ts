import type { Pool } from '@tally/postgres';
import { RedisChangeBus, type RedisClient } from '@tally/redis';

/** The route classes a tenant is limited by (docs/operations.md "Rate limits"). */
export const ROUTE_CLASSES = ['ingest', 'check', 'other'] as const;
export type RouteClass = (typeof ROUTE_CLASSES)[number];

/** Units per second of each class; 0 = no limit. */
export type Rates = Record<RouteClass, number>;
/** A tenant's own rates: a class absent (null) keeps the deployment default. */
export type RateOverrides = Record<RouteClass, number | null>;

export const RATE_LIMIT_CHANNEL = 'tally:rate-limits';
type RateLimitChange = { kind: 'rateLimits'; tenantId: string } | { kind: 'reset' };

const COLUMNS: Record<RouteClass, string> = {
  ingest: 'ingest_events_per_second',
  check: 'check_per_second',
  other: 'other_per_second',
};
/** Fallback for a missed message (Redis down at publish): a held override is re-read after this. */
const TTL_MS = 60_000;
/** Tenants held per process; past it the cache starts over (memory stays bounded). */
const MAX_TENANTS = 10_000;

/**
 * Per-tenant overrides in Postgres (tenant_rate_limits), held per process and
 * dropped in every process when one process changes them (a pub/sub channel of
 * their own, same RedisChangeBus as the catalog caches): an admin change holds
 * in every API process before its answer leaves, without a restart.
 */
export class RateLimitOverrides {
  private readonly held = new Map<string, { rates: Promise<RateOverrides>; at: number }>();
  private readonly bus: RedisChangeBus<RateLimitChange>;

  constructor(private readonly pool: Pool, redis: RedisClient, redisUrl: string) {
    this.bus = new RedisChangeBus<RateLimitChange>(redis, redisUrl, RATE_LIMIT_CHANNEL);
    this.bus.subscribe((change) => {
      if (change.kind === 'reset') this.held.clear();
      else this.held.delete(change.tenantId);
    });
  }

  /** The tenant's overrides (all null when it has none); one Postgres read per tenant per process and TTL. */
  get(tenantId: string): Promise<RateOverrides> {
    const entry = this.held.get(tenantId);
    if (entry && Date.now() - entry.at < TTL_MS) return entry.rates;
    if (this.held.size >= MAX_TENANTS) this.held.clear();
    const rates = this.read(tenantId);
    this.held.set(tenantId, { rates, at: Date.now() });
    rates.catch(() => this.held.delete(tenantId));
    return rates;
  }

  private async read(tenantId: string): Promise<RateOverrides> {
    const { rows } = await this.pool.query<Record<string, number | null>>(
      'SELECT ingest_events_per_second, check_per_second, other_per_second FROM tenant_rate_limits WHERE tenant_id = $1',
      [tenantId],
    );
    const row = rows[0];
    return { ingest: row?.[COLUMNS.ingest] ?? null, check: row?.[COLUMNS.check] ?? null, other: row?.[COLUMNS.other] ?? null };
  }

  /** Replaces the tenant's overrides (null = the default), then tells every process before resolving. */
  async set(tenantId: string, rates: RateOverrides): Promise<void> {
    await this.pool.query(
      `INSERT INTO tenant_rate_limits (tenant_id, ingest_events_per_second, check_per_second, other_per_second, updated_at)
       VALUES ($1, $2, $3, $4, now())
       ON CONFLICT (tenant_id) DO UPDATE SET ingest_events_per_second = $2, check_per_second = $3, other_per_second = $4, updated_at = now()`,
      [tenantId, rates.ingest, rates.check, rates.other],
    );
    await this.changed(tenantId);
  }

  /** Whether the tenant exists (the admin routes answer 404 for one that does not). */
  async hasTenant(tenantId: string): Promise<boolean> {
    const { rowCount } = await this.pool.query('SELECT 1 FROM tenants WHERE id = $1', [tenantId]);
    return Boolean(rowCount);
  }

  async clear(tenantId: string): Promise<void> {
    await this.pool.query('DELETE FROM tenant_rate_limits WHERE tenant_id = $1', [tenantId]);
    await this.changed(tenantId);
  }

  private async changed(tenantId: string): Promise<void> {
    this.held.delete(tenantId);
    await this.bus.publish({ kind: 'rateLimits', tenantId }).catch(() => {}); // TTL_MS is the fallback
  }

  close(): void {
    this.bus.close();
  }
}
