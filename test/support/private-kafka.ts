import { PrivateBroker } from '../../sim/src/broker.ts';

/**
 * A Kafka broker of its own (the simulator's PrivateBroker: single-node KRaft,
 * the jars deploy/local fetched into .data/kafka/libs, a temporary data dir),
 * for a test that pauses the broker (SIGSTOP/SIGCONT) without touching the one
 * every other suite uses.
 */
export interface PrivateKafka {
  brokers: string;
  pause(): void;
  resume(): void;
  stop(): Promise<void>;
}

export async function privateKafka(timeoutMs = 90_000): Promise<PrivateKafka> {
  const broker = await PrivateBroker.create();
  try {
    await broker.start(timeoutMs);
  } catch (err) {
    await broker.destroy();
    throw err;
  }
  return {
    brokers: broker.address,
    pause: () => broker.pause(),
    resume: () => broker.resume(),
    stop: () => broker.destroy(),
  };
}
