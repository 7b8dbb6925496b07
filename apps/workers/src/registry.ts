import { Worker, UnrecoverableError, type Job, type Processor, type WorkerOptions } from 'bullmq';
import { counter, histogram, isAppError, type Logger } from '@tally/runtime';
import { ownBull } from '@tally/redis';

const jobsDone = counter('tally_jobs_total', 'BullMQ jobs finished', ['queue', 'outcome']);
const jobSeconds = histogram('tally_job_duration_seconds', 'BullMQ job duration', ['queue']);

/**
 * The one place BullMQ workers are created: same connection settings,
 * metrics and failure logging for every queue. A processor that throws a
 * non-retryable AppError fails the job for good instead of retrying.
 */
export class WorkerRegistry {
  private readonly workers: Worker[] = [];

  constructor(
    private readonly redisUrl: string,
    private readonly logger: Logger,
  ) {}

  register<T>(
    queueName: string,
    processor: (job: Job<T>) => Promise<unknown>,
    concurrency = 4,
    /** Per-queue settings, e.g. a short lockDuration so a killed worker's job is picked up quickly. */
    options: Pick<WorkerOptions, 'lockDuration' | 'stalledInterval' | 'maxStalledCount'> = {},
  ): Worker {
    const wrapped: Processor<T> = async (job) => {
      const end = jobSeconds.startTimer({ queue: queueName });
      try {
        return await processor(job);
      } catch (err) {
        if (isAppError(err) && !err.retryable) throw new UnrecoverableError(`${err.code}: ${err.message}`);
        throw err;
      } finally {
        end();
      }
    };
    const worker = ownBull(this.redisUrl, (o) => new Worker<T>(queueName, wrapped, { ...o, concurrency, ...options }));
    worker.on('completed', () => jobsDone.labels(queueName, 'completed').inc());
    worker.on('failed', (job, err) => {
      jobsDone.labels(queueName, 'failed').inc();
      this.logger.warn({ queue: queueName, jobId: job?.id, attempts: job?.attemptsMade, err }, 'job failed');
    });
    worker.on('error', (err) => this.logger.error({ queue: queueName, err }, 'worker error'));
    this.workers.push(worker);
    return worker;
  }

  /** Stops taking jobs and waits for the running ones to finish. */
  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.close()));
  }
}
