/**
 * Raw producer throughput, the ceiling for ingest: the same messages Tally
 * produces (JSON usage events, key tenant:customer), acks=all, idempotent,
 * gzip, in batches of `batch`, `inFlight` sends outstanding, for `seconds`.
 * Note: @platformatic/kafka 1.35 with idempotent: true and several sends in
 * flight at once fails with OUT_OF_ORDER_SEQUENCE_NUMBER; Tally's API keeps
 * one produce request in flight (CoalescingProducer), so the comparison uses 1.
 */
import { CompressionTypes } from 'kafkajs';
import { Producer, stringSerializers } from '@platformatic/kafka';
import { createKafka, KafkajsAdmin, KafkajsProducer } from '@tally/kafka';
import { config, round } from './lib.ts';

export interface ProducerResult {
  client: string;
  events: number;
  seconds: number;
  eventsPerSecond: number;
}

const message = (i: number) => {
  const customer = `bench-c${i % 200}`;
  return {
    key: `tenant:${customer}`,
    value: JSON.stringify({ tenantId: '00000000-0000-0000-0000-000000000000', id: `raw-${i}`, customer, feature: 'gpt-4', valueMicro: '1000000', timestamp: Date.now(), acceptedAt: Date.now(), entity: null, properties: { model: 'gpt-4o', region: 'eu' }, source: 'live' }),
  };
};

async function drive(send: (msgs: { key: string; value: string }[]) => Promise<void>, seconds: number, batch: number, inFlight: number) {
  let n = 0;
  const deadline = performance.now() + seconds * 1000;
  const started = performance.now();
  const lane = async () => {
    while (performance.now() < deadline) {
      const msgs = Array.from({ length: batch }, () => message(n++));
      await send(msgs);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  const elapsed = (performance.now() - started) / 1000;
  return { events: n, seconds: round(elapsed), eventsPerSecond: Math.round(n / elapsed) };
}

export async function kafkajsThroughput(topic: string, seconds = 10, batch = 4000, inFlight = 1): Promise<ProducerResult> {
  // Tally's own adapter, exactly as the API uses it (idempotent, acks=-1, gzip)
  const producer = new KafkajsProducer(createKafka({ brokers: config.KAFKA_BROKERS, clientId: 'bench-kafkajs' }));
  await producer.connect();
  const r = await drive((msgs) => producer.send(topic, msgs), seconds, batch, inFlight);
  await producer.disconnect();
  void CompressionTypes;
  return { client: 'kafkajs 2.2.4 (Tally adapter)', ...r };
}

export async function platformaticThroughput(topic: string, seconds = 10, batch = 4000, inFlight = 1): Promise<ProducerResult> {
  const producer = new Producer({
    clientId: 'bench-platformatic',
    bootstrapBrokers: config.KAFKA_BROKERS,
    serializers: stringSerializers,
    idempotent: true,
    acks: -1,
    compression: 'gzip',
  });
  const r = await drive(async (msgs) => {
    await producer.send({ messages: msgs.map((m) => ({ topic, key: m.key, value: m.value })) });
  }, seconds, batch, inFlight);
  await producer.close();
  return { client: '@platformatic/kafka 1.35.0', ...r };
}

export async function benchTopic(name: string): Promise<string> {
  const topic = `tally.bench-${name}-${Date.now()}`;
  const admin = new KafkajsAdmin(createKafka({ brokers: config.KAFKA_BROKERS, clientId: 'bench-admin' }));
  await admin.ensureTopic(topic, 6, 1);
  await admin.disconnect();
  return topic;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const seconds = Number(process.argv[2] ?? 10);
  const topic = await benchTopic('producers');
  for (const run of [kafkajsThroughput, platformaticThroughput, kafkajsThroughput, platformaticThroughput]) {
    console.log(JSON.stringify(await run(topic, seconds)));
  }
  process.exit(0);
}
