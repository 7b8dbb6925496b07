import { randomUUID } from 'node:crypto';
import type { Logger } from '@tally/runtime';
import type { WebhookEventType } from '@tally/contracts';
import type { Transactor } from '../store.ts';
import type { DeliveryStore } from './delivery-repo.ts';
import type { WebhookQueue } from './webhook-delivery.queue.ts';

/**
 * Records an outbound event and one delivery per subscribed endpoint, then
 * queues the deliveries. The event id is deterministic where the event is
 * (`purchase.completed:<purchase>`), so emitting it again after a retry adds
 * nothing: the event row and the first delivery per endpoint are unique.
 */
export class WebhookEmitter {
  constructor(
    private readonly tx: Transactor,
    private readonly store: Pick<DeliveryStore, 'recordEvent'>,
    private readonly queue: WebhookQueue,
    private readonly logger: Logger,
  ) {}

  async emit(tenantId: string, type: WebhookEventType, eventId: string, data: Record<string, unknown>): Promise<void> {
    const payload = { id: eventId, type, createdAt: new Date().toISOString(), data };
    // one transaction: the event and its deliveries exist together or not at all
    const deliveries = await this.tx.transaction((tx) => this.store.recordEvent(tx, tenantId, { id: eventId, type, payload }));
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
