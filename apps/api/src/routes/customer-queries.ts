import type { Pool } from '@tally/postgres';
import type { ClickHouseClient } from '@tally/clickhouse';
import { sql, ident } from '@tally/clickhouse';
import { fromMicro } from '@tally/core';
import type { CustomerRow } from '@tally/catalog';

/** created_at as UTC text with microseconds: the list's keyset column, exact. */
const CREATED_KEY = `to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

/** A customers row (as the catalog reads it) with its keyset column. */
export interface CustomerListRow extends CustomerRow {
  created_key: string;
}

/** `%`, `_` and `\` match themselves in a search. */
export const escapeLike = (text: string) => text.replace(/[\\%_]/g, (c) => `\\${c}`);

/** One page (plus one row, to tell hasMore) of a tenant's customers after `after`, oldest first. */
export async function listCustomers(
  pool: Pool,
  tenantId: string,
  opts: { limit: number; after?: [string, string] | undefined; search?: string | undefined },
): Promise<CustomerListRow[]> {
  const args: unknown[] = [tenantId];
  const where = ['tenant_id = $1'];
  if (opts.after) {
    args.push(opts.after[0], opts.after[1]);
    where.push(`(created_at, id) > ($${args.length - 1}::timestamptz, $${args.length})`);
  }
  if (opts.search) {
    args.push(`%${escapeLike(opts.search)}%`);
    const p = `$${args.length}`;
    where.push(`(id ILIKE ${p} ESCAPE '\\' OR email ILIKE ${p} ESCAPE '\\' OR name ILIKE ${p} ESCAPE '\\')`);
  }
  args.push(opts.limit + 1);
  const { rows } = await pool.query<CustomerListRow>(
    `SELECT id, email, name, metadata, created_at, updated_at, ${CREATED_KEY} AS created_key
       FROM customers WHERE ${where.join(' AND ')}
      ORDER BY created_at, id LIMIT $${args.length}`,
    args,
  );
  return rows;
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);
const credits = (micro: string | bigint) => fromMicro(BigInt(micro));

/**
 * Grants with credits not revoked, in spending order (spendingOrder in @tally/core): those
 * with an expiry by expires_at, then those without by granted_at, ties by id.
 */
export async function customerGrants(pool: Pool, tenantId: string, customerId: string) {
  const { rows } = await pool.query(
    `SELECT id, credit_system, source, purchase_id, credits_micro, revoked_micro, granted_at, expires_at
       FROM credit_grants WHERE tenant_id = $1 AND customer_id = $2 AND revoked_micro < credits_micro
      ORDER BY expires_at ASC NULLS LAST, CASE WHEN expires_at IS NULL THEN granted_at END, id LIMIT 200`,
    [tenantId, customerId],
  );
  return rows.map((r) => ({
    id: r.id as string,
    creditSystem: r.credit_system as string,
    source: r.source as 'purchase' | 'manual' | 'auto_topup',
    purchaseId: (r.purchase_id as string | null) ?? null,
    credits: credits(r.credits_micro),
    revoked: credits(r.revoked_micro),
    grantedAt: (r.granted_at as Date).toISOString(),
    expiresAt: iso(r.expires_at as Date | null),
  }));
}

/** The 50 newest purchases (the purchases list route pages further). */
export async function customerPurchases(pool: Pool, tenantId: string, customerId: string) {
  const { rows } = await pool.query(
    `SELECT id, pack_slug, credit_system, quantity, credits_micro, amount_minor, currency, status, source, created_at, completed_at
       FROM purchases WHERE tenant_id = $1 AND customer_id = $2 ORDER BY created_at DESC, id DESC LIMIT 50`,
    [tenantId, customerId],
  );
  return rows.map((r) => ({
    id: r.id as string,
    pack: r.pack_slug as string,
    creditSystem: r.credit_system as string,
    quantity: Number(r.quantity),
    credits: credits(r.credits_micro),
    amount: Number(r.amount_minor),
    currency: r.currency as string,
    status: r.status as string,
    source: r.source as string,
    createdAt: (r.created_at as Date).toISOString(),
    completedAt: iso(r.completed_at as Date | null),
  }));
}

/** Every subscription the customer had, newest first (canceled ones included). */
export async function customerSubscriptions(pool: Pool, tenantId: string, customerId: string) {
  const { rows } = await pool.query(
    `SELECT s.id, p.slug AS plan, s.status, s.anchor_at, s.created_at, s.canceled_at
       FROM subscriptions s JOIN plans p ON p.id = s.plan_id
      WHERE s.tenant_id = $1 AND s.customer_id = $2 ORDER BY s.created_at DESC, s.id DESC LIMIT 100`,
    [tenantId, customerId],
  );
  return rows.map((r) => ({
    id: r.id as string,
    plan: r.plan as string,
    status: r.status as string,
    anchorAt: (r.anchor_at as Date).toISOString(),
    createdAt: (r.created_at as Date).toISOString(),
    canceledAt: iso(r.canceled_at as Date | null),
  }));
}

interface EventRow {
  event_id: string;
  feature: string;
  credit_system: string;
  value_micro: string;
  credits_micro: string;
  credits_plan_micro: string;
  credits_purchased_micro: string;
  credits_overage_micro: string;
  t: string;
  source: string;
}

/** The newest `limit` raw events (latest version of each, reverted ones left out). */
export async function recentEvents(clickhouse: ClickHouseClient, database: string, tenantId: string, customerId: string, limit: number) {
  if (limit === 0) return [];
  const q = sql`SELECT event_id, feature, credit_system, value_micro, credits_micro, credits_plan_micro, credits_purchased_micro,
      credits_overage_micro, toUnixTimestamp(event_time) AS t, source
    FROM ${ident(database)}.${ident('raw_usage_events_v1')} FINAL
    WHERE tenant_id = ${tenantId} AND customer_id = ${customerId} AND reverted = 0
    ORDER BY event_time DESC, event_id DESC LIMIT ${limit}`;
  const rows = await (await clickhouse.query({ query: q.text, format: 'JSONEachRow' })).json<EventRow>();
  return rows.map((r) => ({
    eventId: r.event_id,
    feature: r.feature,
    creditSystem: r.credit_system,
    value: credits(r.value_micro),
    credits: credits(r.credits_micro),
    creditsPlan: credits(r.credits_plan_micro),
    creditsPurchased: credits(r.credits_purchased_micro),
    creditsOverage: credits(r.credits_overage_micro),
    eventTime: new Date(Number(r.t) * 1000).toISOString(),
    source: r.source,
  }));
}

/**
 * The operator's reads of a customer (GET /v1/customers, GET /v1/customers/:id/balances) over
 * Postgres and ClickHouse: built once by the composition root, so the routes hold no client.
 */
export class CustomerReads {
  constructor(
    private readonly pool: Pool,
    private readonly clickhouse: ClickHouseClient,
    private readonly database: string,
  ) {}

  list(tenantId: string, opts: Parameters<typeof listCustomers>[2]): Promise<CustomerListRow[]> {
    return listCustomers(this.pool, tenantId, opts);
  }

  grants(tenantId: string, customerId: string) {
    return customerGrants(this.pool, tenantId, customerId);
  }

  purchases(tenantId: string, customerId: string) {
    return customerPurchases(this.pool, tenantId, customerId);
  }

  subscriptions(tenantId: string, customerId: string) {
    return customerSubscriptions(this.pool, tenantId, customerId);
  }

  recentEvents(tenantId: string, customerId: string, limit: number) {
    return recentEvents(this.clickhouse, this.database, tenantId, customerId, limit);
  }
}
