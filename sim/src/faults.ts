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

/**
 * kill -9 of one API or workers process; its restart on the same port runs in
 * the background (`restarted`) while the other processes carry the traffic.
 * Null when the process drawn is still restarting from an earlier kill.
 */
export function killOne(stack: Stack, rng: Rng): { what: string; restarted: Promise<void> } | null {
  const p = rng.pick(stack.processes);
  if (p.restarting) return null;
  const restarted = (async () => {
    await p.stop('SIGKILL');
    await p.start();
  })();
  p.restarting = restarted
    .catch(() => undefined) // the caller sees the failure through `restarted`
    .finally(() => {
      p.restarting = null;
    });
  return { what: `kill -9 ${p.name} (restarting in the background)`, restarted };
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
