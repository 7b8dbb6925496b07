/**
 * A Stripe purchase that expires in Tally (unpaid past PURCHASE_EXPIRY_SECONDS) has its Checkout Session
 * expired at Stripe too (POST /v1/checkout/sessions/:id/expire), with the tenant's own keys when it has
 * them, else the deployment's. A failed call does not hold the expiry back and is retried by the next
 * sweep; once Stripe answered, no more calls. Time is injected by backdating the purchase's created_at
 * (the workers keep the default 24 h expiry, so other suites' purchases awaiting payment are not touched).
 * Own API and workers on a private Redis, with a fake Stripe (STRIPE_API_BASE) and a CREDENTIALS_KEY of
 * their own (the shared workers, which sweep the same Postgres, can neither open the tenant's keys nor
 * reach this Stripe).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { billingTenant, db } from './billing.support.ts';
import { fakeStripe } from './support/fake-stripe.ts';
import { METRICS_TOKEN, opsHeaders } from './support/ops.ts';
import { privateStack, type PrivateStack } from './support/private-stack.ts';
import { eventually } from './support/stack.ts';

const DEPLOY_KEY = `sk_test_deploy${randomUUID().replace(/-/g, '').slice(0, 16)}`;
const OWN_KEY = `sk_test_own${randomUUID().replace(/-/g, '').slice(0, 16)}`;
const OWN_HOOK = `whsec_own${randomUUID().replace(/-/g, '').slice(0, 16)}`;

let fake: Awaited<ReturnType<typeof fakeStripe>>;
let stack: PrivateStack;
beforeAll(async () => {
  fake = await fakeStripe();
  stack = await privateStack({
    apis: 1,
    workers: 1,
    env: {
      METRICS_TOKEN,
      STRIPE_API_BASE: fake.url,
      STRIPE_SECRET_KEY: DEPLOY_KEY,
      STRIPE_WEBHOOK_SECRET: `whsec_deploy${randomUUID().replace(/-/g, '').slice(0, 16)}`,
      CREDENTIALS_KEY: randomBytes(32).toString('hex'),
      BILLING_SWEEP_EVERY_MS: '500',
    },
  });
}, 180_000);
afterAll(async () => {
  await stack?.stop();
  await fake?.close();
  await db.end();
});

const expireCalls = (session: string) => fake.calls.filter((c) => c.method === 'POST' && c.path === `/v1/checkout/sessions/${session}/expire`);

async function sweeps(): Promise<number> {
  const text = await (await fetch(`${stack.workers[0]!.url}/metrics`, { headers: opsHeaders })).text();
  return [...text.matchAll(/^tally_periodic_runs_total\{[^}]*job="billing-sweep"[^}]*\} (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
}

/** A Stripe pack bought through a hosted checkout: awaiting payment, with the session Tally opened at the fake. */
async function awaitingStripe(api: Awaited<ReturnType<typeof billingTenant>>['api'], customer: string) {
  expect((await api.post('/v1/customers', { id: customer, email: `${customer}@example.test` })).status).toBeLessThan(300);
  const addon = await api.post('/v1/addon', { customer, pack: 'stripe-pack' });
  expect(addon.body, JSON.stringify(addon.body)).toMatchObject({ requiresCheckout: true, status: 'awaiting_payment' });
  return { reference: addon.body.reference as string, session: (addon.body.checkoutUrl as string).split('/').pop()! };
}

const row = async (id: string) =>
  (await db.query<{ status: string; failure_code: string | null; checkout_closed_at: Date | null }>(
    'SELECT status, failure_code, checkout_closed_at FROM purchases WHERE id = $1', [id],
  )).rows[0]!;

describe('an expired Stripe purchase', () => {
  it("expires its Checkout Session at Stripe with the tenant's own key or the deployment's; a failed call is retried and never holds the expiry back", { timeout: 120_000 }, async () => {
    const deployTenant = await billingTenant(stack.apis[0]!.url);
    const ownTenant = await billingTenant(stack.apis[0]!.url);
    expect((await ownTenant.api.put('/v1/providers/stripe/credentials', { secretKey: OWN_KEY, webhookSecret: OWN_HOOK })).status).toBe(200);

    const viaDeploy = await awaitingStripe(deployTenant.api, 'expiry-deploy');
    const viaOwn = await awaitingStripe(ownTenant.api, 'expiry-own');
    const stillOpen = await awaitingStripe(deployTenant.api, 'expiry-open');
    fake.failExpire(viaDeploy.session, 1); // Stripe answers 500 once for this one

    // a day and a half ago, for the expiry (24 h): the next sweep expires both
    await db.query(`UPDATE purchases SET created_at = now() - interval '36 hours' WHERE id = ANY($1::uuid[])`, [[viaDeploy.reference, viaOwn.reference]]);

    // the failed call: the purchase is expired in Tally all the same, its session not marked closed
    await eventually(async () => expireCalls(viaDeploy.session).length >= 1, 60_000);
    expect(await row(viaDeploy.reference)).toMatchObject({ status: 'expired', failure_code: 'purchase_expired' });
    // the next sweep retries it and succeeds; the other was expired with the tenant's own key
    await eventually(async () => expireCalls(viaDeploy.session).length >= 2 && expireCalls(viaOwn.session).length >= 1, 60_000);
    await eventually(async () => (await row(viaDeploy.reference)).checkout_closed_at !== null && (await row(viaOwn.reference)).checkout_closed_at !== null, 30_000);

    // two more sweeps after that: nothing called again, nothing for the purchase not yet due
    const after = await sweeps();
    await eventually(async () => (await sweeps()) >= after + 2, 60_000);
    expect(expireCalls(viaDeploy.session).map((c) => c.auth)).toEqual([`Bearer ${DEPLOY_KEY}`, `Bearer ${DEPLOY_KEY}`]);
    expect(expireCalls(viaOwn.session).map((c) => c.auth)).toEqual([`Bearer ${OWN_KEY}`]);
    expect(expireCalls(stillOpen.session)).toEqual([]);
    for (const p of [viaDeploy, viaOwn]) expect(await row(p.reference)).toMatchObject({ status: 'expired', failure_code: 'purchase_expired' });
    expect((await row(stillOpen.reference)).status).toBe('awaiting_payment');
    expect((await deployTenant.api.get(`/v1/purchases/${viaDeploy.reference}`)).body).toMatchObject({ status: 'expired', failure: { code: 'purchase_expired' } });
  });
});
