import { describe, expect, it } from 'vitest';
import type { ConsumedBatch, LogMessage } from '@tally/kafka';
import type { UsageEventMessage } from '@tally/contracts';
import { FairShare, type ParsedMessage } from './fair-share.ts';

/** A batch of one partition: `tenants[i]` is the tenant of the event at offset `from + i`. */
function batch(partition: number, from: number, tenants: string[]): { batch: ConsumedBatch; parsed: ParsedMessage[] } {
  const parsed = tenants.map((tenantId, i) => {
    const event = { tenantId, id: `e${from + i}`, customer: `${tenantId}-c${i % 3}`, feature: 'f', valueMicro: '1', timestamp: '2026-01-01T00:00:00.000Z', source: 'api' } as unknown as UsageEventMessage;
    const message = { offset: String(from + i), key: `${tenantId}:${event.customer}`, value: Buffer.from(JSON.stringify(event)), timestamp: '0' };
    return { message, event };
  });
  return { batch: { topic: 't', partition, messages: parsed.map((p) => p.message), nextOffset: String(from + tenants.length) }, parsed };
}

const lane = (drained: () => boolean) => {
  const moved: LogMessage[][] = [];
  let asked = 0;
  const fair = new FairShare({
    shareEvents: 3,
    defer: async (m) => void moved.push(m),
    deferredDrained: async () => {
      asked++;
      return drained();
    },
  });
  return { fair, moved, asked: () => asked };
};

const tenantsOf = (kept: ParsedMessage[]) => kept.map((p) => p.event.tenantId);

describe('FairShare', () => {
  it('moves a tenant over its share of a batch, in offset order with its keys, and keeps the others', async () => {
    const { fair, moved } = lane(() => true);
    const b = batch(0, 0, ['A', 'B', 'A', 'A', 'C', 'A', 'B']);
    const kept = await fair.route(b.batch, b.parsed);
    expect(tenantsOf(kept)).toEqual(['B', 'C', 'B']);
    expect(moved).toHaveLength(1);
    expect(moved[0]!.map((m) => JSON.parse(String(m.value)).id)).toEqual(['e0', 'e2', 'e3', 'e5']);
    expect(moved[0]!.map((m) => m.key)).toEqual(['A:A-c0', 'A:A-c2', 'A:A-c0', 'A:A-c2']);
  });

  it('keeps a tenant at its share on the main lane', async () => {
    const { fair, moved } = lane(() => true);
    const b = batch(0, 0, ['A', 'A', 'A', 'B']);
    expect(tenantsOf(await fair.route(b.batch, b.parsed))).toEqual(['A', 'A', 'A', 'B']);
    expect(moved).toHaveLength(0);
  });

  it('keeps a deferred tenant deferred, even under its share, until the deferred lane drained after its last move', async () => {
    let drained = true;
    const { fair, moved } = lane(() => drained);
    const first = batch(0, 0, ['A', 'A', 'A', 'A', 'B']);
    expect(tenantsOf(await fair.route(first.batch, first.parsed))).toEqual(['B']);
    drained = false;
    const second = batch(0, 5, ['A', 'B']);
    expect(tenantsOf(await fair.route(second.batch, second.parsed))).toEqual(['B']);
    expect(moved).toHaveLength(2);
    drained = true;
    await new Promise((r) => setTimeout(r, 250)); // past the 200 ms an answer is reused
    const third = batch(0, 7, ['A', 'B']);
    expect(tenantsOf(await fair.route(third.batch, third.parsed))).toEqual(['A', 'B']);
    expect(moved).toHaveLength(2);
  });

  it('defers every tenant of a partition whose past it does not know while the deferred lane holds events', async () => {
    let drained = false;
    const { fair, moved } = lane(() => drained);
    // first batch this process sees of partition 1 (a start or a rebalance): another process may have deferred A
    const first = batch(1, 100, ['A', 'B']);
    expect(tenantsOf(await fair.route(first.batch, first.parsed))).toEqual([]);
    expect(moved[0]!.map((m) => JSON.parse(String(m.value)).tenantId)).toEqual(['A', 'B']);
    drained = true;
    const next = batch(1, 102, ['A', 'B']);
    expect(tenantsOf(await fair.route(next.batch, next.parsed))).toEqual(['A', 'B']);
    // a redelivery (the batch does not start where the last ended) forgets what it knew
    drained = false;
    const again = batch(1, 102, ['B']);
    expect(tenantsOf(await fair.route(again.batch, again.parsed))).toEqual([]);
  });

  it('asks whether the deferred lane drained only while something is deferred', async () => {
    const { fair, asked } = lane(() => true);
    const b = batch(0, 0, ['B']);
    await fair.route(b.batch, b.parsed); // unknown past: asks once
    const n = asked();
    for (let i = 1; i <= 5; i++) {
      const next = batch(0, i, ['B']);
      await fair.route(next.batch, next.parsed);
    }
    expect(asked()).toBe(n);
  });
});

describe('FairShare with a store', () => {
  it("starts a partition it does not know from the deferred tenants its last owner saved", async () => {
    const saved = new Map<number, string[]>();
    const store = { load: async (p: number) => saved.get(p) ?? null, save: async (p: number, t: string[]) => void saved.set(p, t) };
    const owner = new FairShare({ shareEvents: 3, defer: async () => {}, deferredDrained: async () => true, store });
    const b1 = batch(2, 0, ['A', 'A', 'A', 'A', 'B']);
    await owner.route(b1.batch, b1.parsed);
    expect(saved.get(2)).toEqual(['A']);
    // the next owner, while the deferred lane still holds A's events: A stays deferred, B is not held up
    const next = new FairShare({ shareEvents: 3, defer: async () => {}, deferredDrained: async () => false, store });
    const b2 = batch(2, 5, ['A', 'B']);
    expect(tenantsOf(await next.route(b2.batch, b2.parsed))).toEqual(['B']);
  });
});
