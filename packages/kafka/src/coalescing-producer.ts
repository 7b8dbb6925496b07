import type { EventProducer, LogMessage } from './port.ts';

interface Waiting {
  topic: string;
  messages: LogMessage[];
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * Coalesces concurrent sends into one produce request per topic: while a
 * request is in flight, everything that arrives waits and goes out together
 * in the next one (Nagle-style, no fixed linger). Each caller's promise still
 * resolves only when the broker acknowledged its own messages.
 */
export class CoalescingProducer implements EventProducer {
  private queue: Waiting[] = [];
  private inFlight = false;

  constructor(private readonly inner: EventProducer, private readonly maxMessages = 20_000) {}

  connect(): Promise<void> {
    return this.inner.connect();
  }

  send(topic: string, messages: LogMessage[]): Promise<void> {
    if (messages.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ topic, messages, resolve, reject });
      if (!this.inFlight) setImmediate(() => void this.drain());
    });
  }

  private async drain(): Promise<void> {
    if (this.inFlight) return;
    this.inFlight = true;
    try {
      while (this.queue.length > 0) {
        const topic = this.queue[0]!.topic;
        const batch: Waiting[] = [];
        const rest: Waiting[] = [];
        let count = 0;
        for (const w of this.queue) {
          if (w.topic === topic && (count === 0 || count + w.messages.length <= this.maxMessages)) {
            batch.push(w);
            count += w.messages.length;
          } else rest.push(w);
        }
        this.queue = rest;
        try {
          await this.inner.send(topic, batch.flatMap((w) => w.messages));
          for (const w of batch) w.resolve();
        } catch (err) {
          for (const w of batch) w.reject(err);
        }
      }
    } finally {
      this.inFlight = false;
    }
  }

  disconnect(): Promise<void> {
    return this.inner.disconnect();
  }
}
