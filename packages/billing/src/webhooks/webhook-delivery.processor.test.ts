import { describe, expect, it } from 'vitest';
import { UnrecoverableError, type Job } from 'bullmq';
import type { WebhookDeliveries } from './deliveries.ts';
import { webhookDeliveryProcessor } from './webhook-delivery.processor.ts';

const TENANT = '0b5f1f5e-8d7a-4c1e-9a51-3f0b3c7a9d10';
const DELIVERY = '6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b';

function recording() {
  const calls: unknown[][] = [];
  const deliveries = { attempt: async (...args: unknown[]) => void calls.push(args) } as unknown as WebhookDeliveries;
  const run = (data: unknown, attemptsMade = 0) => webhookDeliveryProcessor(deliveries)({ id: 'j1', data, attemptsMade, opts: { attempts: 10 } } as Job);
  return { calls, run };
}

describe('the webhook delivery queue processor', () => {
  it('a valid job makes one attempt; the last of its attempts is flagged', async () => {
    const { calls, run } = recording();
    await run({ tenantId: TENANT, deliveryId: DELIVERY });
    await run({ tenantId: TENANT, deliveryId: DELIVERY }, 9);
    expect(calls).toEqual([
      [TENANT, DELIVERY, false],
      [TENANT, DELIVERY, true],
    ]);
  });

  it('an invalid payload fails the job for good (no retry), with the issues, and attempts nothing', async () => {
    const { calls, run } = recording();
    const failed = run({ tenantId: TENANT, deliveryId: 'not-a-uuid' });
    await expect(failed).rejects.toBeInstanceOf(UnrecoverableError);
    await expect(failed).rejects.toThrow(/^invalid_job: webhook job j1: deliveryId: /);
    await expect(run('garbage')).rejects.toBeInstanceOf(UnrecoverableError);
    expect(calls).toEqual([]);
  });
});
