import { describe, expect, it } from 'vitest';
import { UnrecoverableError, type Job } from 'bullmq';
import type { CheckoutService } from './checkout-service.ts';
import { checkoutProcessor } from './checkout.processor.ts';

const TENANT = '0b5f1f5e-8d7a-4c1e-9a51-3f0b3c7a9d10';
const PURCHASE = '6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b';

function recording() {
  const calls: unknown[][] = [];
  const service = { process: async (...args: unknown[]) => (calls.push(args), 'granted') } as unknown as CheckoutService;
  return { calls, run: (data: unknown) => checkoutProcessor(service)({ id: 'j1', data } as Job) };
}

describe('the checkout queue processor', () => {
  it('a valid job moves its purchase forward', async () => {
    const { calls, run } = recording();
    await expect(run({ tenantId: TENANT, purchaseId: PURCHASE })).resolves.toEqual({ status: 'granted' });
    expect(calls).toEqual([[TENANT, PURCHASE]]);
  });

  it('an invalid payload fails the job for good (no retry), with the issues, and touches no purchase', async () => {
    const { calls, run } = recording();
    const failed = run({ tenantId: TENANT, purchaseId: 'not-a-uuid' });
    await expect(failed).rejects.toBeInstanceOf(UnrecoverableError);
    await expect(failed).rejects.toThrow(/^invalid_job: checkout job j1: purchaseId: /);
    await expect(run('garbage')).rejects.toBeInstanceOf(UnrecoverableError);
    expect(calls).toEqual([]);
  });
});
