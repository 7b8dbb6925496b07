import { CompressionTypes, Kafka, logLevel, type Producer, type Admin } from 'kafkajs';
import { DependencyUnavailableError } from '@tally/runtime';
import type { EventLogAdmin, EventProducer, LogMessage } from './port.ts';

export interface KafkaConfig {
  brokers: string[];
  clientId: string;
}

export function createKafka(config: KafkaConfig): Kafka {
  return new Kafka({
    clientId: config.clientId,
    brokers: config.brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 3000,
    requestTimeout: 10_000,
    retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 1000 },
  });
}

/** kafkajs producer: idempotent, acks=all, gzip-compressed batches. */
export class KafkajsProducer implements EventProducer {
  private readonly producer: Producer;
  private connected = false;

  constructor(kafka: Kafka) {
    this.producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    this.producer.on(this.producer.events.DISCONNECT, () => {
      this.connected = false;
    });
  }

  async connect(): Promise<void> {
    await this.producer.connect();
    this.connected = true;
  }

  async send(topic: string, messages: LogMessage[]): Promise<void> {
    if (messages.length === 0) return;
    try {
      if (!this.connected) await this.connect();
      await this.producer.send({ topic, acks: -1, compression: CompressionTypes.GZIP, messages });
    } catch (err) {
      throw new DependencyUnavailableError('kafka', err);
    }
  }

  async disconnect(): Promise<void> {
    await this.producer.disconnect();
    this.connected = false;
  }
}

export class KafkajsAdmin implements EventLogAdmin {
  private readonly admin: Admin;
  private connected = false;

  constructor(kafka: Kafka) {
    this.admin = kafka.admin();
    this.admin.on(this.admin.events.DISCONNECT, () => {
      this.connected = false;
    });
  }

  private async ensureConnected(): Promise<void> {
    if (!this.connected) {
      await this.admin.connect();
      this.connected = true;
    }
  }

  async ensureTopic(topic: string, numPartitions: number, replicationFactor: number): Promise<void> {
    await this.ensureConnected();
    const existing = await this.admin.listTopics();
    if (existing.includes(topic)) return;
    await this.admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions, replicationFactor }] });
  }

  /** A real metadata request to the cluster. */
  async ping(): Promise<void> {
    await this.ensureConnected();
    await this.admin.describeCluster();
  }

  async disconnect(): Promise<void> {
    await this.admin.disconnect();
    this.connected = false;
  }
}

export const kafkaProbe = (admin: EventLogAdmin) => ({ name: 'kafka', check: () => admin.ping() });
