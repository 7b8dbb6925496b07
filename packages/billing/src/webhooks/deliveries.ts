import { randomUUID } from 'node:crypto';
import type { Pool } from '@tally/postgres';
import { AppError, notFound } from '@tally/runtime';
import { signatureHeader } from '@tally/payments';
import type { WebhookQueue } from './webhooks.queue.ts';
import { postToTarget } from './target-fetch.ts';
import { STRICT_WEBHOOK_TARGETS, systemResolver, type Resolver, type WebhookTargetPolicy } from './target-policy.ts';

export const TALLY_SIGNATURE_HEADER = 'Tally-Signature';

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

/** The delivery log, one attempt at a time, and manual redelivery. */
export class WebhookDeliveries {
  constructor(
    private readonly pool: Pool,
    private readonly queue: WebhookQueue,
    private readonly targets: WebhookTargetPolicy = STRICT_WEBHOOK_TARGETS,
    private readonly resolve: Resolver = systemResolver,
  ) {}

  /**
   * One page of an endpoint's delivery log, newest first, plus one row to tell
   * whether there is more. `after` is the keyset of the last row answered:
   * created_at as UTC text with microseconds (createdKey) and the id.
   */
  async list(
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

  /** A new delivery of the same event (same id and body) to the same endpoint. */
  async redeliver(tenantId: string, endpointId: string, deliveryId: string): Promise<Delivery> {
    const { rows } = await this.pool.query<Row>(
      `INSERT INTO webhook_deliveries (id, tenant_id, endpoint_id, event_id, event_type, redelivery_of)
       SELECT $4, tenant_id, endpoint_id, event_id, event_type, id FROM webhook_deliveries
        WHERE tenant_id = $1 AND endpoint_id = $2 AND id = $3
       RETURNING *`,
      [tenantId, endpointId, deliveryId, randomUUID()],
    );
    if (!rows[0]) throw notFound('delivery_not_found', `delivery ${deliveryId} does not exist`);
    await this.queue.enqueue({ tenantId, deliveryId: rows[0].id });
    return toDelivery(rows[0]);
  }

  /**
   * One attempt: POST the event to the endpoint, signed. Records the outcome;
   * throws a retryable error on failure so the queue backs off and retries.
   * `lastAttempt` marks the delivery failed for good.
   */
  async attempt(tenantId: string, deliveryId: string, lastAttempt: boolean): Promise<void> {
    const { rows } = await this.pool.query<{ status: string; url: string; secret: string; deleted_at: Date | null; payload: unknown }>(
      `SELECT d.status, e.url, e.secret, e.deleted_at, ev.payload
         FROM webhook_deliveries d
         JOIN webhook_endpoints e ON e.id = d.endpoint_id AND e.tenant_id = d.tenant_id
         JOIN webhook_events ev ON ev.id = d.event_id AND ev.tenant_id = d.tenant_id
        WHERE d.tenant_id = $1 AND d.id = $2`,
      [tenantId, deliveryId],
    );
    const row = rows[0];
    if (!row || row.status !== 'pending') return;
    if (row.deleted_at) {
      await this.record(tenantId, deliveryId, 'failed', null, 'endpoint deleted');
      return;
    }
    const body = JSON.stringify(row.payload);
    // the target is checked again here, after DNS, whatever it was at registration (target-fetch.ts)
    const result = await postToTarget(
      {
        url: row.url,
        headers: { 'Content-Type': 'application/json', 'User-Agent': 'Tally-Webhooks/1', [TALLY_SIGNATURE_HEADER]: signatureHeader(row.secret, body) },
        body,
        timeoutMs: 10_000,
      },
      this.targets,
      this.resolve,
    );
    if (result.ok) {
      await this.record(tenantId, deliveryId, 'succeeded', result.status, null);
      return;
    }
    // the log shows the class only (4xx, timeout, blocked…), never the target's exact status or body
    if (result.outcome === 'blocked') {
      // nothing was sent; a retry would be refused the same way
      await this.record(tenantId, deliveryId, 'failed', null, result.outcome);
      return;
    }
    await this.record(tenantId, deliveryId, lastAttempt ? 'failed' : 'pending', null, result.outcome);
    throw new AppError('webhook_delivery_failed', `delivery ${deliveryId}: ${result.outcome} (${result.detail})`, { retryable: true });
  }

  private async record(tenantId: string, id: string, status: Delivery['status'], responseStatus: number | null, error: string | null) {
    await this.pool.query(
      `UPDATE webhook_deliveries SET status = $3, attempts = attempts + 1, response_status = $4, last_error = $5, updated_at = now(),
              delivered_at = CASE WHEN $3 = 'succeeded' THEN now() ELSE delivered_at END
        WHERE tenant_id = $1 AND id = $2`,
      [tenantId, id, status, responseStatus, error],
    );
  }

  /** Pending deliveries whose job may have been lost (crash between commit and enqueue). */
  async requeueStale(olderThanSeconds: number): Promise<number> {
    const { rows } = await this.pool.query<{ tenant_id: string; id: string }>(
      `SELECT tenant_id, id FROM webhook_deliveries WHERE status = 'pending' AND updated_at < now() - make_interval(secs => $1) LIMIT 500`,
      [olderThanSeconds],
    );
    for (const r of rows) await this.queue.enqueue({ tenantId: r.tenant_id, deliveryId: r.id });
    return rows.length;
  }
}
