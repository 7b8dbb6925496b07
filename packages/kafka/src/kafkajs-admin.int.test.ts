import { randomUUID } from 'node:crypto';
import { afterAll, expect, it } from 'vitest';
import kafkajs from 'kafkajs';
import { parseConfig, sharedEnv } from '@tally/runtime';
import { createKafka, KafkajsAdmin } from './kafkajs.ts';

/**
 * ensureTopic against the real broker(s) of the running profile (one broker, or three with replication factor 3):
 * the topic config given at creation is the topic's, every partition has a leader when it returns, and a second
 * call with another config leaves the existing topic as it is.
 */
const config = parseConfig(sharedEnv);
const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: 'tally-admin-int' });
const admin = new KafkajsAdmin(kafka);
const raw = kafka.admin();
const topic = `tally.ensure-topic-int-${randomUUID().slice(0, 8)}`;

afterAll(async () => {
  await raw.deleteTopics({ topics: [topic] }).catch(() => {});
  await raw.disconnect();
  await admin.disconnect();
});

async function topicConfig(names: string[]): Promise<Record<string, string>> {
  const { resources } = await raw.describeConfigs({
    resources: [{ type: kafkajs.ConfigResourceTypes.TOPIC, name: topic, configNames: names }],
    includeSynonyms: false,
  });
  return Object.fromEntries(resources[0]!.configEntries.map((e) => [e.configName, e.configValue]));
}

it('creates the topic with its config, leaders elected, and leaves an existing topic alone', async () => {
  await raw.connect();
  const rf = config.KAFKA_REPLICATION_FACTOR;
  await admin.ensureTopic(topic, 3, rf, { 'retention.ms': '3600000', 'min.insync.replicas': String(rf) });

  const { topics } = await raw.fetchTopicMetadata({ topics: [topic] });
  expect(topics[0]!.partitions).toHaveLength(3);
  for (const p of topics[0]!.partitions) {
    expect(p.leader).toBeGreaterThanOrEqual(0);
    expect(p.replicas).toHaveLength(rf);
  }
  expect(await topicConfig(['retention.ms', 'min.insync.replicas'])).toEqual({ 'retention.ms': '3600000', 'min.insync.replicas': String(rf) });

  await admin.ensureTopic(topic, 6, rf, { 'retention.ms': '60000' });
  expect(await topicConfig(['retention.ms'])).toEqual({ 'retention.ms': '3600000' });
  const again = await raw.fetchTopicMetadata({ topics: [topic] });
  expect(again.topics[0]!.partitions).toHaveLength(3);
});
