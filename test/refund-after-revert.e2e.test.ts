import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { eventually } from './support/stack.ts';
import { billingTenant, buyNow, creditsOf, newCustomer, saveCard, type Api } from './billing.support.ts';
import { ndjson, upload, waitFor } from './analytics-helpers.ts';

/**
 * Refunds and import reverts on one customer (found by the simulator, seed 301): a revert rebuilds the
 * customer, and the rebuild must give the same grants as a ledger that never saw the reverted events —
 * purchased usage spent oldest first, and a refunded pack keeping nothing.
 * Catalog (billing.support.ts): starter plan 100 credits a month, pack of 500, ai-tokens 1 credit each.
 */
async function applyImport(api: Api, secret: string, customer: string, tokens: number) {
  const file = ndjson([{ id: `${customer}-imp-${randomUUID().slice(0, 6)}`, customer, feature: 'ai-tokens', value: tokens, timestamp: new Date(Date.now() - 60_000).toISOString() }]);
  const created = await upload(secret, file, '?mode=apply');
  expect(created.status, JSON.stringify(created.body)).toBe(202);
  await waitFor(api, created.body.id, ['completed']);
  return created.body.id as string;
}

async function revert(api: Api, importId: string) {
  expect((await api.post(`/v1/imports/${importId}/revert`)).status).toBe(202);
  await waitFor(api, importId, ['reverted'], 90_000);
}

const addonIs = (api: Api, customer: string, credits: number) => eventually(async () => (await creditsOf(api, customer)).addon === credits, 30_000);

async function track(api: Api, customer: string, tokens: number) {
  const r = await api.post('/v1/track', { id: `${customer}-live-${randomUUID().slice(0, 6)}`, customer, feature: 'ai-tokens', value: tokens });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
}

async function buy(api: Api, customer: string): Promise<string> {
  const r = await buyNow(api, { customer, pack: '500-ai-credits' });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body.reference as string;
}

/** A customer with two packs of 500 (the second's reference returned), the plan's 100 used, and an apply import of 300 from the first pack. */
async function twoPacksAndAnImport() {
  const { api, secret } = await billingTenant();
  const customer = await newCustomer(api);
  await saveCard(api, customer);
  await buy(api, customer);
  const second = await buy(api, customer);
  await track(api, customer, 100);
  await addonIs(api, customer, 1000);
  const imported = await applyImport(api, secret, customer, 300);
  await addonIs(api, customer, 700);
  return { api, customer, second, imported };
}

describe('refunds and import reverts', () => {
  it('a pack refunded when fully spent gets nothing back when the import that spent it is reverted', { timeout: 180_000 }, async () => {
    const { api, secret } = await billingTenant();
    const customer = await newCustomer(api);
    await saveCard(api, customer);
    const x = await buy(api, customer);
    const imported = await applyImport(api, secret, customer, 600); // 100 of the plan, then all 500 of X
    await addonIs(api, customer, 0);
    const refund = await api.post(`/v1/purchases/${x}/refund`);
    expect(refund.status, JSON.stringify(refund.body)).toBe(200);
    expect(refund.body).toMatchObject({ revokedCredits: 0, spentCredits: 500 });
    await buy(api, customer);
    await addonIs(api, customer, 500);

    await revert(api, imported);
    // X's money is gone with the refund: its 500 credits must not come back (before the fix: 1,000)
    const after = await creditsOf(api, customer);
    expect(after.addon).toBe(500);
    expect(after.plan).toBe(100);
  });

  it('after a revert the usage left is spent oldest first, so a refund of the newer pack revokes all of it', { timeout: 180_000 }, async () => {
    const { api, customer, second: b, imported } = await twoPacksAndAnImport(); // A: 500 -> 200, B whole
    await track(api, customer, 400); // A: 200 -> 0, B: 500 -> 300
    await addonIs(api, customer, 300);

    await revert(api, imported);
    // 400 purchased left, spent oldest first: A 100 left, B untouched (before the fix: A 300, B 300)
    await addonIs(api, customer, 600);
    const refund = await api.post(`/v1/purchases/${b}/refund`);
    expect(refund.status, JSON.stringify(refund.body)).toBe(200);
    expect(refund.body).toMatchObject({ revokedCredits: 500, spentCredits: 0 });
    expect((await creditsOf(api, customer)).addon).toBe(100);
  });

  it('usage a revert frees goes back to the open packs, not into a refunded one (seed 301, t2-c3)', { timeout: 180_000 }, async () => {
    const { api, customer, second: r, imported } = await twoPacksAndAnImport(); // X: 500 -> 200, R whole
    await track(api, customer, 200); // X: 200 -> 0
    await addonIs(api, customer, 500);
    await track(api, customer, 500); // R: 500 -> 0
    await addonIs(api, customer, 0);
    const refund = await api.post(`/v1/purchases/${r}/refund`);
    expect(refund.body).toMatchObject({ revokedCredits: 0, spentCredits: 500 });
    await buy(api, customer); // Y
    await addonIs(api, customer, 500);

    await revert(api, imported);
    // paid 1,500, 0 paid back, 700 purchased usage left (R's 500 stays charged to R): 800 left, X 300 + Y 500
    await addonIs(api, customer, 800);
  });
});
