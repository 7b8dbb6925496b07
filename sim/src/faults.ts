import { addMonths } from './periods.ts';
import type { Stack } from './stack.ts';
import type { Rng } from './rng.ts';

export const FAULTS = ['kill', 'flush', 'keys', 'clickhouse', 'period', 'broker'] as const;
export type Fault = (typeof FAULTS)[number];

export function parseFaults(list: string): Fault[] {
  if (list.trim() === '' || list === 'none') return [];
  const out = list.split(',').map((s) => s.trim());
  for (const f of out) if (!(FAULTS as readonly string[]).includes(f)) throw new Error(`unknown fault "${f}" (known: ${FAULTS.join(', ')})`);
  return out as Fault[];
}

/** kill -9 of one API or workers process, then a restart on the same port. Returns what was done. */
export async function killOne(stack: Stack, rng: Rng): Promise<string> {
  const p = rng.pick(stack.processes);
  await p.stop('SIGKILL');
  await p.start();
  return `kill -9 ${p.name}, restarted`;
}

/**
 * The stack's private Kafka broker stopped (SIGTERM: controlled shutdown, or
 * SIGKILL) and, after a pause, started again on the same ports and storage.
 * Meanwhile produces fail (503, retried by the sim like the SDK) and the
 * consumers reconnect.
 */
export async function restartBroker(stack: Stack, rng: Rng): Promise<string> {
  if (!stack.broker) throw new Error('the broker fault needs a stack with its own broker (Stack.start({ privateBroker: true }))');
  const signal = rng.chance(0.5) ? 'SIGTERM' : 'SIGKILL';
  const pauseMs = rng.int(200, 3000);
  const t0 = Date.now();
  await stack.broker.stop(signal);
  await new Promise((r) => setTimeout(r, pauseMs));
  await stack.broker.start();
  return `Kafka broker ${signal}, down ${pauseMs} ms, back after ${((Date.now() - t0) / 1000).toFixed(1)} s`;
}

/** The stack's whole Redis database lost (FLUSHDB on its own database: other users of the server keep theirs). */
export async function flushRedis(stack: Stack): Promise<string> {
  await stack.redis.flushdb();
  return `FLUSHDB (the stack's Redis database)`;
}

/** Every Redis key of one customer deleted, as a partial loss would. */
export async function deleteCustomerKeys(stack: Stack, tenantId: string, customer: string): Promise<string> {
  const pattern = `tally:{${tenantId}:${customer}}:*`.replace(/[?[\]\\]/g, (c) => `\\${c}`);
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, found] = await stack.redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    if (found.length) deleted += await stack.redis.del(...found);
  } while (cursor !== '0');
  return `deleted ${deleted} Redis keys of ${customer}`;
}

/**
 * A period boundary crossed without faking time: the next whole second P is
 * waited for, then the customer's anchor moves to one calendar month before P
 * (UTC), so a new monthly period starts at P, after everything already applied.
 * Returns the new anchor.
 */
export async function crossPeriod(stack: Stack, tenantId: string, customer: string): Promise<number> {
  const p = Math.ceil((Date.now() + 1) / 1000) * 1000;
  await new Promise((r) => setTimeout(r, p - Date.now() + 20));
  const anchor = addMonths(p, -1);
  const r = await stack.pool.query('UPDATE subscriptions SET anchor_at = $3 WHERE tenant_id = $1 AND customer_id = $2', [tenantId, customer, new Date(anchor)]);
  if (r.rowCount === 0) throw new Error(`no subscription of ${customer} to move`);
  return anchor;
}
