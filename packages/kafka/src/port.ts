/**
 * The event log port. Producers and consumers are behind these interfaces so
 * the client library (kafkajs today) can be swapped without touching callers.
 */
export interface LogMessage {
  key: string;
  value: Buffer | string;
  headers?: Record<string, string>;
}

export interface EventProducer {
  connect(): Promise<void>;
  /** Resolves only once the broker acknowledged every message (acks=all). */
  send(topic: string, messages: LogMessage[]): Promise<void>;
  disconnect(): Promise<void>;
}

export interface ConsumedBatch {
  topic: string;
  partition: number;
  messages: { offset: string; key: string | null; value: Buffer | null; timestamp: string }[];
  /** The offset to commit once the batch is durably handed on (last offset + 1). */
  nextOffset: string;
  /** Keeps the group membership alive while a handler waits long (call it every few seconds). */
  heartbeat?: () => Promise<void>;
}

export interface EventConsumer {
  connect(): Promise<void>;
  /**
   * Calls `handle` for each batch, one partition at a time; the offset is
   * committed only after `handle` resolves. A throw means: do not commit,
   * the batch will be delivered again.
   */
  run(topic: string, handle: (batch: ConsumedBatch) => Promise<void>): Promise<void>;
  disconnect(): Promise<void>;
}

export interface EventLogAdmin {
  /**
   * Creates the topic when it is missing. `config` (e.g. `{ 'min.insync.replicas': '2' }`) applies at
   * creation only; an existing topic is left as it is.
   */
  ensureTopic(topic: string, partitions: number, replicationFactor: number, config?: Record<string, string>): Promise<void>;
  ping(): Promise<void>;
  disconnect(): Promise<void>;
}
