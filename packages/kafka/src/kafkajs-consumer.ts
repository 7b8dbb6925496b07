import type { Consumer, Kafka } from 'kafkajs';
import type { ConsumedBatch, EventConsumer } from './port.ts';
import { whileRetriable } from './retriable.ts';

export interface KafkajsConsumerOptions {
  groupId: string;
  /** Partitions handled at once (each partition's batches stay in order). */
  partitionsConsumedConcurrently?: number;
  maxBytesPerPartition?: number;
}

/**
 * kafkajs consumer-group adapter: eachBatch with manual commits. The offset
 * of a batch is committed only after `handle` resolved; a throw leaves it
 * uncommitted, so the batch comes again (after a restart or rebalance).
 */
export class KafkajsConsumer implements EventConsumer {
  private readonly consumer: Consumer;

  constructor(kafka: Kafka, private readonly options: KafkajsConsumerOptions) {
    this.consumer = kafka.consumer({
      groupId: options.groupId,
      maxBytesPerPartition: options.maxBytesPerPartition ?? 4 * 1024 * 1024,
      maxWaitTimeInMs: 50,
      // A killed member is noticed within seconds, so its partitions move on quickly.
      sessionTimeout: 10_000,
      rebalanceTimeout: 12_000,
      heartbeatInterval: 1_000,
      retry: { retries: 1000, initialRetryTime: 200, maxRetryTime: 5000 },
    });
  }

  connect(): Promise<void> {
    return this.consumer.connect();
  }

  async run(topic: string, handle: (batch: ConsumedBatch) => Promise<void>): Promise<void> {
    // a topic created moments ago may be unknown to the broker asked (several brokers)
    await whileRetriable(() => this.consumer.subscribe({ topic, fromBeginning: true }));
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.options.partitionsConsumedConcurrently ?? 3,
      eachBatch: async ({ batch, resolveOffset, commitOffsetsIfNecessary, heartbeat, isRunning, isStale }) => {
        if (batch.messages.length === 0 || !isRunning() || isStale()) return;
        const last = batch.messages[batch.messages.length - 1]!;
        const nextOffset = (BigInt(last.offset) + 1n).toString();
        await handle({
          topic: batch.topic,
          partition: batch.partition,
          messages: batch.messages.map((m) => ({
            offset: m.offset,
            key: m.key ? m.key.toString() : null,
            value: m.value,
            timestamp: m.timestamp,
          })),
          nextOffset,
          heartbeat,
        });
        resolveOffset(last.offset);
        // Not consumer.commitOffsets: it retries through the consumer's retrier (1,000 times) with the same
        // offset manager, whose coordinator kafkajs never looks up again after NOT_COORDINATOR — once the
        // group's coordinator broker died, every partition stalled for good (3 brokers, the sim's seeds 202-204).
        // From here the error leaves the batch: kafkajs re-joins the group (fresh coordinator), the batch comes
        // again, its job is found completed and the commit goes to the new coordinator.
        await commitOffsetsIfNecessary({ topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: nextOffset }] }] });
        await heartbeat();
      },
    });
  }

  /** Stops fetching; the batch in hand finishes (and commits) first. */
  disconnect(): Promise<void> {
    return this.consumer.disconnect();
  }
}
