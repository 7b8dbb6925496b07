import { AppError } from '@tally/runtime';
import { signatureHeader } from '@tally/payments';
import type { Delivery, DeliveryStore } from './delivery-repo.ts';
import type { WebhookQueue } from './webhook-delivery.queue.ts';
import { postToTarget } from './target-fetch.ts';
import { STRICT_WEBHOOK_TARGETS, systemResolver, type Resolver, type WebhookTargetPolicy } from './target-policy.ts';
import { billingErrors } from '../errors.ts';

export const TALLY_SIGNATURE_HEADER = 'Tally-Signature';

/** The delivery log, one attempt at a time, and manual redelivery. */
export class WebhookDeliveries {
  constructor(
    private readonly store: DeliveryStore,
    private readonly queue: WebhookQueue,
    private readonly targets: WebhookTargetPolicy = STRICT_WEBHOOK_TARGETS,
    private readonly resolve: Resolver = systemResolver,
  ) {}

  /**
   * One page of an endpoint's delivery log, newest first, plus one row to tell
   * whether there is more. `after` is the keyset of the last row answered:
   * created_at as UTC text with microseconds (createdKey) and the id.
   */
  list(
    tenantId: string,
    endpointId: string,
    opts: { limit: number; after?: readonly [string, string] | undefined },
  ): Promise<Array<{ delivery: Delivery; createdKey: string }>> {
    return this.store.page(tenantId, endpointId, opts);
  }

  /** A new delivery of the same event (same id and body) to the same endpoint. */
  async redeliver(tenantId: string, endpointId: string, deliveryId: string): Promise<Delivery> {
    const copy = await this.store.copy(tenantId, endpointId, deliveryId);
    if (!copy) throw billingErrors.delivery_not_found(`delivery ${deliveryId} does not exist`);
    await this.queue.enqueue({ tenantId, deliveryId: copy.id });
    return copy;
  }

  /**
   * One attempt: POST the event to the endpoint, signed. Records the outcome;
   * throws a retryable error on failure so the queue backs off and retries.
   * `lastAttempt` marks the delivery failed for good.
   */
  async attempt(tenantId: string, deliveryId: string, lastAttempt: boolean): Promise<void> {
    const row = await this.store.target(tenantId, deliveryId);
    if (!row || row.status !== 'pending') return;
    if (row.endpointDeleted) {
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

  private record(tenantId: string, id: string, status: Delivery['status'], responseStatus: number | null, error: string | null): Promise<void> {
    return this.store.recordAttempt(tenantId, id, status, responseStatus, error);
  }

  /** Pending deliveries whose job may have been lost (crash between commit and enqueue). */
  async requeueStale(olderThanSeconds: number): Promise<number> {
    const stale = await this.store.stale(olderThanSeconds);
    for (const d of stale) await this.queue.enqueue({ tenantId: d.tenantId, deliveryId: d.id });
    return stale.length;
  }
}
