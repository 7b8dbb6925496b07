import { randomUUID } from 'node:crypto';
import { Kafka, Partitioners, logLevel } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { createKafka, KafkajsAdmin, KafkajsProducer } from './kafkajs.ts';

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');

/**
 * The producer places every message itself (to check kafkajs' answer covers each partition): the
 * placement must be the one kafkajs' default partitioner gives, or a customer's events would change
 * partition (and order) when Tally upgrades.
 */
describe('KafkajsProducer placement', () => {
  const topic = `tally.test.placement-${randomUUID().slice(0, 8)}`;
  const kafka = createKafka({ brokers, clientId: 'placement-test' });
  const admin = new KafkajsAdmin(kafka);
  const producer = new KafkajsProducer(kafka, { lanes: 3 });
  afterAll(async () => {
    await producer.disconnect();
    await admin.disconnect();
  });

  it('puts each key where the default partitioner does, and every message arrives', async () => {
    await admin.ensureTopic(topic, 6, 1);
    await producer.connect();
    const keys = Array.from({ length: 40 }, (_, i) => `customer-${i}`);
    const messages = keys.flatMap((key) => [0, 1, 2].map((n) => ({ key, value: `${key}:${n}` })));
    await producer.send(topic, messages);

    const reference = Partitioners.DefaultPartitioner();
    const partitionMetadata = Array.from({ length: 6 }, (_, partitionId) => ({ partitionId, leader: 0, replicas: [], isr: [], partitionErrorCode: 0 }));
    const expected = new Map(keys.map((key) => [key, reference({ topic, partitionMetadata, message: { key, value: '' } })]));

    const reader = new Kafka({ brokers, clientId: 'placement-reader', logLevel: logLevel.NOTHING }).consumer({ groupId: `placement-${randomUUID()}` });
    await reader.connect();
    await reader.subscribe({ topic, fromBeginning: true });
    const seen: { key: string; partition: number; value: string }[] = [];
    await reader.run({ eachMessage: async ({ partition, message }) => void seen.push({ key: message.key!.toString(), partition, value: message.value!.toString() }) });
    const deadline = Date.now() + 30_000;
    while (seen.length < messages.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    await reader.disconnect();

    expect(seen).toHaveLength(messages.length);
    for (const m of seen) expect(m.partition, m.key).toBe(expected.get(m.key));
    // one key's messages keep their order
    for (const key of keys) expect(seen.filter((m) => m.key === key).map((m) => m.value)).toEqual([0, 1, 2].map((n) => `${key}:${n}`));
  }, 60_000);
});
