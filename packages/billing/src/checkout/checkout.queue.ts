import { Queue, QueueEvents, type JobsOptions } from 'bullmq';
import { ownBull } from '@tally/redis';
import { checkoutJobSchema, type CheckoutJob } from '@tally/contracts';
import { bounded, DependencyUnavailableError } from '@tally/runtime';

/** The payload schema (in @tally/contracts with the other job payloads); checkout.processor.ts parses with it. */
export { checkoutJobSchema, type CheckoutJob };

/** The "checkout" queue: one job per purchase (jobId = purchase id, so adding it twice is a no-op). */
export const CHECKOUT_QUEUE = 'checkout';

/**
 * Retries back off exponentially; every step of the job is idempotent
 * (guarded purchase states, provider idempotency keys), so a retry or a worker
 * killed mid-job is safe. Failed jobs (an invalid payload among them) stay a
 * week in the failed set, with their data, for inspection and replay.
 */
export const CHECKOUT_JOB_OPTIONS: JobsOptions = {
  attempts: 8,
  backoff: { type: 'exponential', delay: 1000 },
  removeOnComplete: { age: 3600, count: 10_000 },
  removeOnFail: { age: 7 * 24 * 3600 },
};

/**
 * A short lock, renewed every half period while the job runs, so a killed
 * worker's job is noticed as stalled and handed to another worker in seconds.
 */
export const CHECKOUT_WORKER_OPTIONS = { lockDuration: 5000, stalledInterval: 5000, maxStalledCount: 3 };

const ENQUEUE_TIMEOUT_MS = 3000;

export class CheckoutQueue {
  readonly queue: Queue<CheckoutJob>;
  private events: QueueEvents | undefined;

  constructor(private readonly redisUrl: string) {
    this.queue = ownBull(redisUrl, (o) => new Queue<CheckoutJob>(CHECKOUT_QUEUE, o));
  }

  /** Redis down: 503 (the purchase row is kept; a retry with the same Idempotency-Key enqueues it). */
  async enqueue(job: CheckoutJob): Promise<void> {
    // BullMQ's connection queues commands while Redis is away; bound the wait instead of hanging the request:
    // what is left of the request's budget, ENQUEUE_TIMEOUT_MS outside a request
    try {
      await bounded('redis', () => this.queue.add('checkout', job, { ...CHECKOUT_JOB_OPTIONS, jobId: job.purchaseId }), ENQUEUE_TIMEOUT_MS);
    } catch (err) {
      throw err instanceof DependencyUnavailableError ? err : new DependencyUnavailableError('redis', err);
    }
  }

  /** Waits up to `timeoutMs` for the purchase's job to finish; false when it did not (or is gone). */
  async waitFor(purchaseId: string, timeoutMs: number): Promise<boolean> {
    this.events ??= ownBull(this.redisUrl, (o) => new QueueEvents(CHECKOUT_QUEUE, o));
    await this.events.waitUntilReady();
    const job = await this.queue.getJob(purchaseId);
    if (!job) return false;
    try {
      await job.waitUntilFinished(this.events, timeoutMs);
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    await this.events?.close();
    await this.queue.close();
  }
}
