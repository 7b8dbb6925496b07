import { promisify } from 'node:util';
import zlib from 'node:zlib';
import kafkajs, { CompressionTypes, Kafka, logLevel, Partitioners, type Producer, type Admin, type ICustomPartitioner, type PartitionMetadata } from 'kafkajs';
import { bounded, counter, DependencyUnavailableError, type Logger } from '@tally/runtime';
import type { EventLogAdmin, EventProducer, LogMessage } from './port.ts';

export interface KafkaConfig {
  brokers: string[];
  clientId: string;
  /** Where kafkajs' own warnings and errors go (rebalances, lost coordinators, crashes); silent without. */
  logger?: Logger;
}

/** kafkajs' WARN and ERROR lines as the process's own log lines, component `kafkajs`. */
function kafkajsLogs(logger: Logger) {
  const log = logger.child({ component: 'kafkajs' });
  return () => ({ level, log: entry }: { level: logLevel; log: { message: string; [k: string]: unknown } }) => {
    const { message, timestamp: _t, logger: _l, ...fields } = entry;
    if (level === logLevel.ERROR) log.error(fields, message);
    else if (level === logLevel.WARN) log.warn(fields, message);
  };
}

const gzipFast = promisify((buf: Buffer, cb: (err: Error | null, out: Buffer) => void) => zlib.gzip(buf, { level: 1 }, cb));
const unzip = promisify(zlib.unzip);
/**
 * GZIP at level 1 instead of zlib's default 6: still gzip for every reader;
 * on usage-event JSON about 0.7 instead of 2.2 µs of CPU per event, output
 * about 8 % larger. (CompressionCodecs is not a named ESM export of kafkajs.)
 */
kafkajs.CompressionCodecs[CompressionTypes.GZIP] = () => ({
  compress: (encoder: { buffer: Buffer }) => gzipFast(encoder.buffer),
  decompress: (buffer: Buffer) => unzip(buffer),
});

export function createKafka(config: KafkaConfig): Kafka {
  return new Kafka({
    clientId: config.clientId,
    brokers: config.brokers,
    logLevel: config.logger ? logLevel.WARN : logLevel.NOTHING,
    ...(config.logger ? { logCreator: kafkajsLogs(config.logger) } : {}),
    connectionTimeout: 3000,
    requestTimeout: 10_000,
    retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 1000 },
  });
}

/**
 * kafkajs' default (Java-compatible murmur2) partitioner, remembered per key:
 * same partitions as the default, without hashing every message again (a
 * batch names few customers, each many times). Messages without a key go to
 * the default's round-robin.
 */
export const memoizedDefaultPartitioner: ICustomPartitioner = () => {
  const inner = Partitioners.DefaultPartitioner();
  const memo = new Map<string, number>();
  return (args) => {
    const { message, partitionMetadata } = args;
    if (message.partition != null || message.key == null) return inner(args);
    const k = `${partitionMetadata.length}\u0000${message.key.toString()}`;
    let partition = memo.get(k);
    if (partition === undefined) {
      partition = inner(args);
      if (memo.size >= 100_000) memo.clear();
      memo.set(k, partition);
    }
    return partition;
  };
};

export interface KafkajsProducerOptions {
  /**
   * Independent idempotent producers a large send is spread over (by key, so
   * one key's messages keep their order). Each keeps one request in flight.
   */
  lanes?: number;
  /**
   * Messages per kafkajs send call. kafkajs groups a send's messages per
   * partition by copying arrays (quadratic in the messages per partition),
   * so big sends go out as several smaller ones.
   */
  chunk?: number;
}

/** Cheap stable string hash (FNV-1a) to pick a lane for a key. */
function laneOf(key: string, lanes: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return (h >>> 0) % lanes;
}

const unsentPartitions = counter(
  'tally_kafka_unsent_partitions_total',
  'kafkajs send calls that resolved without one of their partitions acknowledged (sent again)',
);

/**
 * kafkajs producer: idempotent, acks=all, gzip-compressed batches.
 *
 * Every message gets its partition here (the default partitioner's choice), and a send counts only
 * once each of those partitions is in kafkajs' answer. kafkajs 2.2 keeps its retry's answers per
 * broker: when a partition's leader moves to a broker that already answered for other partitions,
 * the retry never sends that partition and the send resolves anyway. The simulator lost
 * acknowledged events that way on 3 brokers (docs/simulation.md, 2026-12-04); such messages are
 * sent again here (their sequence numbers were rolled back, so a copy the old leader did append
 * is recognised as a duplicate by the broker).
 */
export class KafkajsProducer implements EventProducer {
  private readonly producers: Producer[];
  private readonly connected: boolean[];
  private readonly chunk: number;
  private readonly admin: Admin;
  private readonly topicPartitions = new Map<string, Promise<PartitionMetadata[]>>();
  private readonly assign = memoizedDefaultPartitioner();

  constructor(kafka: Kafka, options: KafkajsProducerOptions = {}) {
    this.admin = kafka.admin();
    const lanes = Math.max(1, options.lanes ?? 1);
    this.chunk = Math.max(1, options.chunk ?? 2000);
    this.producers = [];
    this.connected = [];
    for (let i = 0; i < lanes; i++) {
      const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false, createPartitioner: memoizedDefaultPartitioner });
      producer.on(producer.events.DISCONNECT, () => {
        this.connected[i] = false;
      });
      this.producers.push(producer);
      this.connected.push(false);
    }
  }

  async connect(): Promise<void> {
    await Promise.all(this.producers.map((_, i) => this.connectLane(i)));
  }

  private async connectLane(i: number): Promise<void> {
    await this.producers[i]!.connect();
    this.connected[i] = true;
  }

  /** Resolves once every lane's messages were acknowledged (acks=all); any failure fails the whole send. */
  async send(topic: string, messages: LogMessage[]): Promise<void> {
    if (messages.length === 0) return;
    const lanes = this.producers.length;
    const perLane: LogMessage[][] = Array.from({ length: lanes }, () => []);
    if (lanes === 1) perLane[0] = messages;
    else for (const m of messages) perLane[laneOf(m.key, lanes)]!.push(m);
    try {
      // within a request, bounded by its budget (docs/operations.md "Budgets"); a late ack still lands, once (event ids)
      await bounded('kafka', () => Promise.all(perLane.map((msgs, i) => (msgs.length > 0 ? this.sendLane(i, topic, msgs) : undefined))));
    } catch (err) {
      throw err instanceof DependencyUnavailableError ? err : new DependencyUnavailableError('kafka', err);
    }
  }

  private async sendLane(i: number, topic: string, messages: LogMessage[]): Promise<void> {
    if (!this.connected[i]) await this.connectLane(i);
    const producer = this.producers[i]!;
    const placed = await this.place(topic, messages);
    for (let start = 0; start < placed.length; start += this.chunk) {
      let pending = start === 0 && placed.length <= this.chunk ? placed : placed.slice(start, start + this.chunk);
      for (let attempt = 1; ; attempt++) {
        const answer = await producer.send({ topic, acks: -1, compression: CompressionTypes.GZIP, messages: pending });
        const acked = new Set(answer.filter((r) => r.errorCode === 0).map((r) => r.partition));
        const unsent = pending.filter((m) => !acked.has(m.partition));
        if (unsent.length === 0) break;
        unsentPartitions.inc();
        if (attempt >= 5) throw new Error(`kafka: partitions ${[...new Set(unsent.map((m) => m.partition))].join(',')} of ${topic} not acknowledged after ${attempt} sends`);
        pending = unsent;
      }
    }
  }

  /** Each message with the partition kafkajs' default partitioner would give it (by key, as before). */
  private async place(topic: string, messages: LogMessage[]): Promise<(LogMessage & { partition: number })[]> {
    const partitionMetadata = await this.partitionsOf(topic);
    return messages.map((m) => ({ ...m, partition: this.assign({ topic, partitionMetadata, message: m }) }));
  }

  /**
   * A topic's partitions as the partitioner reads them, fetched once per topic and kept (not rebuilt per send).
   * Adding partitions to a live topic moves keys anyway: restart the APIs.
   */
  private partitionsOf(topic: string): Promise<PartitionMetadata[]> {
    let partitions = this.topicPartitions.get(topic);
    if (!partitions) {
      partitions = (async () => {
        await this.admin.connect();
        const [meta] = (await this.admin.fetchTopicMetadata({ topics: [topic] })).topics;
        if (!meta || meta.partitions.length === 0) throw new Error(`kafka: topic ${topic} has no partitions`);
        return Array.from({ length: meta.partitions.length }, (_, partitionId) => ({ partitionId, leader: 0, replicas: [], isr: [], partitionErrorCode: 0 }));
      })();
      partitions.catch(() => this.topicPartitions.delete(topic)); // ask again next time
      this.topicPartitions.set(topic, partitions);
    }
    return partitions;
  }

  async disconnect(): Promise<void> {
    await Promise.all([...this.producers.map((p) => p.disconnect()), this.admin.disconnect()]);
    this.connected.fill(false);
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

  async ensureTopic(
    topic: string,
    numPartitions: number,
    replicationFactor: number,
    config: Record<string, string> = {},
  ): Promise<void> {
    await this.ensureConnected();
    const existing = await this.admin.listTopics();
    if (existing.includes(topic)) return;
    const configEntries = Object.entries(config).map(([name, value]) => ({ name, value }));
    await this.admin.createTopics({
      waitForLeaders: false,
      topics: [{ topic, numPartitions, replicationFactor, ...(configEntries.length ? { configEntries } : {}) }],
    });
    await this.waitForLeaders(topic, numPartitions);
  }

  /**
   * kafkajs's own waitForLeaders retries LEADER_NOT_AVAILABLE only; on several brokers the one asked may not
   * have the new topic in its metadata yet and answers UNKNOWN_TOPIC_OR_PARTITION, which it throws. Poll until
   * every partition has a leader, for at most 60 s.
   */
  private async waitForLeaders(topic: string, numPartitions: number): Promise<void> {
    const deadline = Date.now() + 60_000;
    let last = 'no metadata yet';
    while (Date.now() < deadline) {
      try {
        const { topics } = await this.admin.fetchTopicMetadata({ topics: [topic] });
        const partitions = topics[0]?.partitions ?? [];
        if (partitions.length === numPartitions && partitions.every((p) => p.leader >= 0)) return;
        last = `${partitions.filter((p) => p.leader >= 0).length} of ${numPartitions} partitions have a leader`;
      } catch (err) {
        // Retriable protocol errors, or kafkajs's own retries running out on them; anything else is real.
        if (!(err instanceof kafkajs.KafkaJSError)) throw err;
        last = err instanceof kafkajs.KafkaJSProtocolError ? err.type : err.message;
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    throw new Error(`kafka topic ${topic}: no leader for every partition after 60 s (${last})`);
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
