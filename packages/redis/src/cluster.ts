import { Cluster, type ChainableCommander, type Redis } from 'ioredis';
import type { RedisClient } from './connection.ts';

/** What differs on a Redis Cluster, in one place: slots, per-node pipelines, commands every master must run. */

export const isCluster = (redis: RedisClient): redis is Cluster => redis instanceof Cluster;

/** Bytes of the key Redis hashes: the first non-empty `{…}` if any (the hash tag), else all of it. */
function hashed(key: string): Buffer {
  const b = Buffer.from(key);
  const open = b.indexOf(0x7b); // {
  if (open >= 0) {
    const close = b.indexOf(0x7d, open + 1); // }
    if (close > open + 1) return b.subarray(open + 1, close);
  }
  return b;
}

const CRC16 = (() => {
  const table = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 8;
    for (let j = 0; j < 8; j++) c = c & 0x8000 ? ((c << 1) ^ 0x1021) & 0xffff : (c << 1) & 0xffff;
    table[i] = c;
  }
  return table;
})();

/** The slot of a key: CRC16 (XMODEM) of its hashed part mod 16384, as CLUSTER KEYSLOT answers. */
export function keySlot(key: string): number {
  let crc = 0;
  for (const byte of hashed(key)) crc = ((crc << 8) & 0xffff) ^ CRC16[((crc >> 8) ^ byte) & 0xff]!;
  return crc & 16383;
}

/** The connections that hold data: the one server, or every master of a Cluster (once it is ready). */
export async function masters(redis: RedisClient): Promise<Redis[]> {
  if (!isCluster(redis)) return [redis];
  if (redis.status !== 'ready') await new Promise<void>((resolve, reject) => {
    redis.once('ready', resolve);
    redis.once('end', () => reject(new Error('cluster connection ended')));
  });
  return redis.nodes('master');
}

/** Every key matching `pattern`, in pages (SCAN runs on each master of a Cluster: each holds only its slots). */
export async function* scanKeys(redis: RedisClient, pattern: string, count = 1000): AsyncGenerator<string[]> {
  for (const node of await masters(redis)) {
    let cursor = '0';
    do {
      const [next, found] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', count);
      cursor = next;
      if (found.length) yield found;
    } while (cursor !== '0');
  }
}

/** Deletes keys of any slots (one DEL per slot on a Cluster: a DEL of several keys must stay within one). */
export async function deleteKeys(redis: RedisClient, list: string[]): Promise<number> {
  if (list.length === 0) return 0;
  if (!isCluster(redis)) return redis.del(...list);
  const bySlot = new Map<number, string[]>();
  for (const k of list) {
    const s = keySlot(k);
    const group = bySlot.get(s);
    if (group) group.push(k);
    else bySlot.set(s, [k]);
  }
  const counts = await Promise.all([...bySlot.values()].map((group) => redis.del(...group)));
  return counts.reduce((a, b) => a + b, 0);
}

/** FLUSHDB of the whole store: each master of a Cluster (tests and tools only). */
export async function flushStore(redis: RedisClient): Promise<void> {
  await Promise.all((await masters(redis)).map((node) => node.flushdb()));
}

/** One command of a batch: a key it touches (its slot decides the node) and how to add it to a pipeline. */
export interface BatchCommand {
  key: string;
  add: (pipeline: ChainableCommander) => unknown;
}

/**
 * Commands sent in one round trip and answered in the order given, like pipeline().exec(). On one
 * server that is one pipeline; on a Cluster, one pipeline per slot, sent at once (ioredis refuses a
 * pipeline whose keys span nodes). Commands of one slot keep their order; across slots there is none,
 * so a caller that needs one key written before another in another slot awaits the first.
 */
export async function execBatch(redis: RedisClient, commands: BatchCommand[]): Promise<[Error | null, unknown][]> {
  if (commands.length === 0) return [];
  const groups = new Map<number, number[]>();
  commands.forEach((c, i) => {
    const slot = isCluster(redis) ? keySlot(c.key) : 0;
    const group = groups.get(slot);
    if (group) group.push(i);
    else groups.set(slot, [i]);
  });
  const out = new Array<[Error | null, unknown]>(commands.length);
  await Promise.all(
    [...groups.values()].map(async (indexes) => {
      const pipeline = redis.pipeline();
      for (const i of indexes) commands[i]!.add(pipeline);
      const replies = await pipeline.exec();
      if (!replies) throw new Error('pipeline aborted');
      indexes.forEach((i, k) => (out[i] = replies[k] ?? [new Error('no reply'), null]));
    }),
  );
  return out;
}

/**
 * Calls `fn` each time a subscriber connection to one server listens again after a loss (messages
 * published in between were missed): each 'ready' after the first. (On a Cluster the change bus
 * listens through ShardedSubscription, which says so itself.)
 */
export function onResubscribe(sub: RedisClient, fn: () => void): void {
  let first = true;
  sub.on('ready', () => {
    if (!first) fn();
    first = false;
  });
}

/** SCRIPT LOAD on the one server or on every master (a Cluster's script cache is per node); returns the sha. */
export async function loadScript(redis: RedisClient, source: string): Promise<string> {
  const shas = await Promise.all((await masters(redis)).map((node) => node.script('LOAD', source) as Promise<string>));
  return shas[0]!;
}
