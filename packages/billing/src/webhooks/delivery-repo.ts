import { randomUUID } from 'node:crypto';
import type { Pool, Queryable } from '@tally/postgres';

export interface Delivery {
  id: string;
  endpointId: string;
  eventId: string;
  eventType: string;
  status: 'pending' | 'succeeded' | 'failed';
  attempts: number;
  responseStatus: number | null;
  lastError: string | null;
  redeliveryOf: string | null;
  createdAt: Date;
  deliveredAt: Date | null;
}

/** What one attempt needs: the delivery's state, its endpoint and the event body. */
export interface DeliveryTarget {
  status: string;
  url: string;
  secret: string;
  endpointDeleted: boolean;
  payload: unknown;
}

export interface DeliveryStore {
  /**
   * Records an event once (false when its id was recorded already) with one
   * pending delivery per endpoint of the tenant subscribed to its type; answers
   * the new deliveries' ids (none for an event recorded already).
   */
  recordEvent(db: Queryable, tenantId: string, event: { id: string; type: string; payload: unknown }): Promise<string[]>;
  page(tenantId: string, endpointId: string, opts: { limit: number; after?: readonly [string, string] | undefined }): Promise<Array<{ delivery: Delivery; createdKey: string }>>;
  /** A copy of a delivery (same event, same endpoint), pending; null for an unknown one. */
  copy(tenantId: string, endpointId: string, deliveryId: string): Promise<Delivery | null>;
  target(tenantId: string, deliveryId: string): Promise<DeliveryTarget | null>;
  recordAttempt(tenantId: string, id: string, status: Delivery['status'], responseStatus: number | null, error: string | null): Promise<void>;
  /** Pending deliveries not touched for that long (up to 500). */
  stale(olderThanSeconds: number): Promise<Array<{ tenantId: string; id: string }>>;
}

interface Row {
  id: string;
  endpoint_id: string;
  event_id: string;
  event_type: string;
  status: Delivery['status'];
  attempts: number;
  response_status: number | null;
  last_error: string | null;
  redelivery_of: string | null;
  created_at: Date;
  delivered_at: Date | null;
}
const toDelivery = (r: Row): Delivery => ({
  id: r.id,
  endpointId: r.endpoint_id,
  eventId: r.event_id,
  eventType: r.event_type,
  status: r.status,
  attempts: r.attempts,
  responseStatus: r.response_status,
  lastError: r.last_error,
  redeliveryOf: r.redelivery_of,
  createdAt: r.created_at,
  deliveredAt: r.delivered_at,
});

/** webhook_events and webhook_deliveries in Postgres. */
export class DeliveryRepo implements DeliveryStore {
  constructor(private readonly pool: Pool) {}

  async recordEvent(db: Queryable, tenantId: string, event: { id: string; type: string; payload: unknown }): Promise<string[]> {
    const inserted = await db.query(
      'INSERT INTO webhook_events (id, tenant_id, type, payload) VALUES ($1, $2, $3, $4) ON CONFLICT (tenant_id, id) DO NOTHING',
      [event.id, tenantId, event.type, JSON.stringify(event.payload)],
    );
    if (!inserted.rowCount) return [];
    const { rows } = await db.query<{ id: string }>(
      `INSERT INTO webhook_deliveries (id, tenant_id, endpoint_id, event_id, event_type)
       SELECT gen_random_uuid(), $1, e.id, $2, $3 FROM webhook_endpoints e
        WHERE e.tenant_id = $1 AND e.deleted_at IS NULL AND $3 = ANY(e.events)
       ON CONFLICT DO NOTHING RETURNING id`,
      [tenantId, event.id, event.type],
    );
    return rows.map((r) => r.id);
  }

  async page(
    tenantId: string,
    endpointId: string,
    opts: { limit: number; after?: readonly [string, string] | undefined },
  ): Promise<Array<{ delivery: Delivery; createdKey: string }>> {
    const args: unknown[] = [tenantId, endpointId];
    let after = '';
    if (opts.after) {
      args.push(opts.after[0], opts.after[1]);
      after = ' AND (created_at, id) < ($3::timestamptz, $4::uuid)';
    }
    args.push(opts.limit + 1);
    const { rows } = await this.pool.query<Row & { created_key: string }>(
      `SELECT *, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_key
         FROM webhook_deliveries WHERE tenant_id = $1 AND endpoint_id = $2${after}
        ORDER BY created_at DESC, id DESC LIMIT $${args.length}`,
      args,
    );
    return rows.map((r) => ({ delivery: toDelivery(r), createdKey: r.created_key }));
  }

  async copy(tenantId: string, endpointId: string, deliveryId: string): Promise<Delivery | null> {
    const { rows } = await this.pool.query<Row>(
      `INSERT INTO webhook_deliveries (id, tenant_id, endpoint_id, event_id, event_type, redelivery_of)
       SELECT $4, tenant_id, endpoint_id, event_id, event_type, id FROM webhook_deliveries
        WHERE tenant_id = $1 AND endpoint_id = $2 AND id = $3
       RETURNING *`,
      [tenantId, endpointId, deliveryId, randomUUID()],
    );
    return rows[0] ? toDelivery(rows[0]) : null;
  }

  async target(tenantId: string, deliveryId: string): Promise<DeliveryTarget | null> {
    const { rows } = await this.pool.query<{ status: string; url: string; secret: string; deleted_at: Date | null; payload: unknown }>(
      `SELECT d.status, e.url, e.secret, e.deleted_at, ev.payload
         FROM webhook_deliveries d
         JOIN webhook_endpoints e ON e.id = d.endpoint_id AND e.tenant_id = d.tenant_id
         JOIN webhook_events ev ON ev.id = d.event_id AND ev.tenant_id = d.tenant_id
        WHERE d.tenant_id = $1 AND d.id = $2`,
      [tenantId, deliveryId],
    );
    const r = rows[0];
    return r ? { status: r.status, url: r.url, secret: r.secret, endpointDeleted: r.deleted_at !== null, payload: r.payload } : null;
  }

  async recordAttempt(tenantId: string, id: string, status: Delivery['status'], responseStatus: number | null, error: string | null): Promise<void> {
    await this.pool.query(
      `UPDATE webhook_deliveries SET status = $3, attempts = attempts + 1, response_status = $4, last_error = $5, updated_at = now(),
              delivered_at = CASE WHEN $3 = 'succeeded' THEN now() ELSE delivered_at END
        WHERE tenant_id = $1 AND id = $2`,
      [tenantId, id, status, responseStatus, error],
    );
  }

  async stale(olderThanSeconds: number): Promise<Array<{ tenantId: string; id: string }>> {
    const { rows } = await this.pool.query<{ tenant_id: string; id: string }>(
      `SELECT tenant_id, id FROM webhook_deliveries WHERE status = 'pending' AND updated_at < now() - make_interval(secs => $1) LIMIT 500`,
      [olderThanSeconds],
    );
    return rows.map((r) => ({ tenantId: r.tenant_id, id: r.id }));
  }
}
