import { randomUUID } from 'node:crypto';
import { withTransaction, type Pool } from '@tally/postgres';
import type { Logger } from '@tally/runtime';
import type { WebhookEventType } from '@tally/contracts';
import type { WebhookQueue } from './webhooks.queue.ts';

/**
 * Records an outbound event and one delivery per subscribed endpoint, then
 * queues the deliveries. The event id is deterministic where the event is
 * (`purchase.completed:<purchase>`), so emitting it again after a retry adds
 * nothing: the event row and the first delivery per endpoint are unique.
 */
export class WebhookEmitter {
  constructor(
    private readonly pool: Pool,
    private readonly queue: WebhookQueue,
    private readonly logger: Logger,
  ) {}

  async emit(tenantId: string, type: WebhookEventType, eventId: string, data: Record<string, unknown>): Promise<void> {
    const deliveries = await withTransaction(this.pool, async (tx) => {
      const payload = { id: eventId, type, createdAt: new Date().toISOString(), data };
      const inserted = await tx.query(
        'INSERT INTO webhook_events (id, tenant_id, type, payload) VALUES ($1, $2, $3, $4) ON CONFLICT (tenant_id, id) DO NOTHING',
        [eventId, tenantId, type, JSON.stringify(payload)],
      );
      if (!inserted.rowCount) return [];
      const { rows } = await tx.query<{ id: string }>(
        `INSERT INTO webhook_deliveries (id, tenant_id, endpoint_id, event_id, event_type)
         SELECT gen_random_uuid(), $1, e.id, $2, $3 FROM webhook_endpoints e
          WHERE e.tenant_id = $1 AND e.deleted_at IS NULL AND $3 = ANY(e.events)
         ON CONFLICT DO NOTHING RETURNING id`,
        [tenantId, eventId, type],
      );
      return rows.map((r) => r.id);
    });
    // After the commit: a crash here leaves pending deliveries, which the sweeper re-queues.
    for (const deliveryId of deliveries) {
      await this.queue.enqueue({ tenantId, deliveryId }).catch((err) => this.logger.warn({ err, deliveryId }, 'webhook enqueue failed'));
    }
  }

  /** Emits without failing the caller (a webhook must never undo a purchase); errors are logged. */
  emitSafely(tenantId: string, type: WebhookEventType, eventId: string, data: Record<string, unknown>): Promise<void> {
    return this.emit(tenantId, type, eventId, data).catch((err) => this.logger.error({ err, type, eventId }, 'webhook emit failed'));
  }

  static newEventId(): string {
    return `evt_${randomUUID().replace(/-/g, '')}`;
  }
}
