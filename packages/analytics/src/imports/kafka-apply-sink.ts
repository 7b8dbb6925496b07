import type { EventProducer } from '@tally/kafka';
import type { UsageEventMessage } from '@tally/contracts';
import type { ApplySink } from './chunk-processor.ts';
import type { ImportEvent } from './event-line.ts';

const BATCH = 5000;

/**
 * Apply imports enter the metering pipeline like live traffic: one Kafka
 * message per event (source 'import', with the import id), so the debit, the
 * event-id dedup and the ClickHouse row follow exactly the live rules.
 * `apply` resolves once Kafka acknowledged every message (acks=all).
 */
export class KafkaApplySink implements ApplySink {
  constructor(
    private readonly producer: EventProducer,
    private readonly topic: string,
  ) {}

  async apply(tenantId: string, importId: string, events: ImportEvent[]): Promise<void> {
    const acceptedAt = Date.now();
    for (let i = 0; i < events.length; i += BATCH) {
      const messages = events.slice(i, i + BATCH).map((e) => {
        const message: UsageEventMessage = {
          tenantId,
          id: e.id,
          customer: e.customer,
          feature: e.feature,
          valueMicro: e.valueMicro.toString(),
          timestamp: e.timeSec * 1000,
          acceptedAt,
          entity: e.entity || null,
          properties: JSON.parse(e.properties) as Record<string, unknown>,
          source: 'import',
          importId,
        };
        return { key: `${tenantId}:${e.customer}`, value: JSON.stringify(message) };
      });
      await this.producer.send(this.topic, messages);
    }
  }
}
