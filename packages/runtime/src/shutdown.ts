import type { Logger } from 'pino';

type Step = { name: string; run: () => Promise<void> | void };

/**
 * Graceful shutdown: steps run in the order they were registered, so register
 * "stop taking work" before "flush buffers" before "close connections".
 */
export class Shutdown {
  private readonly steps: Step[] = [];
  private started = false;

  constructor(private readonly logger: Logger, private readonly timeoutMs = 20_000) {}

  add(name: string, run: Step['run']): this {
    this.steps.push({ name, run });
    return this;
  }

  listen(signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM']): void {
    for (const signal of signals) process.once(signal, () => void this.run(signal));
  }

  async run(reason: string): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.logger.info({ reason }, 'shutting down');
    const deadline = setTimeout(() => {
      this.logger.error('shutdown timed out; exiting');
      process.exit(1);
    }, this.timeoutMs);
    deadline.unref();
    for (const step of this.steps) {
      try {
        await step.run();
        this.logger.info({ step: step.name }, 'shutdown step done');
      } catch (err) {
        this.logger.error({ err, step: step.name }, 'shutdown step failed');
      }
    }
    clearTimeout(deadline);
    process.exit(0);
  }
}
