import { afterAll, describe, expect, it } from 'vitest';
import { client, eventually } from './support/stack.ts';
import { privateStack, type PrivateStack } from './support/private-stack.ts';
import { meteringTenant, subscribedCustomer, usageTotals } from './metering-helpers.ts';

/**
 * check with sendEvent debits in Redis first and publishes the event second.
 * An API killed between the two left a debit whose event was nowhere else: the
 * client's retry with the same id was answered "duplicate", and the event never
 * reached ClickHouse (found by the simulator, seed 5). Here the API is killed
 * while many strict checks are in flight; every id is then retried until it is
 * answered, as a client would, and each must be stored exactly once.
 */
let stack: PrivateStack | undefined;
afterAll(async () => {
  await stack?.stop();
});

const EVENTS = 400;
const CREDITS_PER_CALL = 20; // gpt-4 in meteringTenant's catalog

describe('strict path: an API killed between debit and publish', () => {
  it('loses no debited event: the outbox republishes it, and retries stay duplicates', async () => {
    stack = await privateStack({ apis: 1, workers: 1 });
    const { tenant, tenantId, api } = await meteringTenant(EVENTS * CREDITS_PER_CALL, 'block', stack.apis[0]!.url);
    const customer = await subscribedCustomer(api);
    const ids = Array.from({ length: EVENTS }, (_, i) => `strict-${i}`);
    const answered = new Set<string>();

    let next = 0;
    let done = 0;
    let killed: Promise<unknown> | null = null;
    const lane = async () => {
      while (next < ids.length) {
        const id = ids[next++]!;
        const res = await api.post('/v1/check', { customer, feature: 'gpt-4', value: 1, sendEvent: true, id }).catch(() => null);
        if (res?.status === 200 && res.body.allowed) answered.add(id);
        // kill -9 in the middle of the stream: some requests are between their debit and their publish
        if (++done === EVENTS / 4) killed = stack!.restart('api', 0);
      }
    };
    await Promise.all(Array.from({ length: 32 }, lane));
    await killed;
    expect(answered.size).toBeLessThan(EVENTS); // the kill did cut requests off

    // the client retries what got no answer, on the restarted API, with the same ids
    const again = client(tenant.apiKey.secret, stack.apis[0]!.url);
    for (const id of ids.filter((x) => !answered.has(x))) {
      const res = await eventually(async () => {
        const r = await again.post('/v1/check', { customer, feature: 'gpt-4', value: 1, sendEvent: true, id });
        return r.status === 200 ? r : null;
      }, 20_000, 200);
      expect(res.body.allowed, JSON.stringify(res.body)).toBe(true);
    }

    // every id is stored once, its credits once; the outbox needs its 30 s grace plus a sweep
    const expected = { events: EVENTS, plan: EVENTS * CREDITS_PER_CALL, purchased: 0, overage: 0 };
    await eventually(async () => JSON.stringify(await usageTotals(tenantId, customer)) === JSON.stringify(expected), 90_000, 1_000).catch(() => {});
    expect(await usageTotals(tenantId, customer)).toEqual(expected);
    const balance = await again.post('/v1/check', { customer, feature: 'gpt-4' });
    expect(balance.body).toMatchObject({ usage: EVENTS * CREDITS_PER_CALL, balance: 0 });
  }, 240_000);
});
