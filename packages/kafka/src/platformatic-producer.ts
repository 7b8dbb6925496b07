import { compatibilityPartitioner, Producer, stringSerializers } from '@platformatic/kafka';
import { DependencyUnavailableError } from '@tally/runtime';
import type { EventProducer, LogMessage } from './port.ts';

export interface PlatformaticProducerConfig {
  brokers: string[];
  clientId: string;
}

/**
 * @platformatic/kafka producer (maintained, Node 20): idempotent, acks=all,
 * gzip - the same guarantees as the kafkajs adapter. The Java-compatible
 * murmur2 partitioner (as kafkajs' default) keeps a customer's events in one
 * partition whichever client produced them.
 */
export class PlatformaticProducer implements EventProducer {
  private readonly producer: Producer<string, string, string, string>;

  constructor(config: PlatformaticProducerConfig) {
    this.producer = new Producer({
      clientId: config.clientId,
      bootstrapBrokers: config.brokers,
      serializers: stringSerializers,
      idempotent: true,
      acks: -1,
      compression: 'gzip',
      partitioner: compatibilityPartitioner,
      timeout: 10_000,
      retries: 3,
      retryDelay: 200,
      autocreateTopics: false,
    });
  }

  async connect(): Promise<void> {
    // connects lazily on the first send
  }

  async send(topic: string, messages: LogMessage[]): Promise<void> {
    if (messages.length === 0) return;
    try {
      await this.producer.send({
        messages: messages.map((m) => ({ topic, key: m.key, value: typeof m.value === 'string' ? m.value : m.value.toString(), headers: m.headers ? new Map(Object.entries(m.headers)) : undefined })),
      });
    } catch (err) {
      throw new DependencyUnavailableError('kafka', err);
    }
  }

  async disconnect(): Promise<void> {
    await this.producer.close();
  }
}
