import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from './support/stack.ts';
import { privateStack, type PrivateStack } from './support/private-stack.ts';
import { startApp, type AppProcess } from './support/processes.ts';
import { billingTenant, db, saveCard, webhookReceiver, type Api } from './billing.support.ts';
import { ageSubscription, bodies, paidCustomer, plusMonths, renewalCharges, subscriptionsOf } from './billing-renewal.support.ts';

/**
 * Renewals of a paid plan (docs/billing.md "Subscriptions and renewals") on a stack of its own:
 * its workers sweep every 250 ms and take over a dead process's claim after 3 s. Time is moved
 * by ageing the subscription in Postgres (ageSubscription), never inside the code under test.
 */
let stack: PrivateStack;
let workers: AppProcess;
beforeAll(async () => {
  stack = await privateStack({ apis: 1, workers: 0, env: { RENEWAL_SWEEP_EVERY_MS: '250', RENEWAL_CLAIM_SECONDS: '3' } });
  workers = await startApp('workers', stack.env);
}, 180_000);
afterAll(async () => {
  await workers?.stop('SIGKILL');
  await stack?.stop();
  await db.end();
});

async function hooks(api: Api) {
  const receiver = await webhookReceiver();
  const ep = await api.post('/v1/webhooks/endpoints', { url: receiver.url });
  if (ep.status !== 201) throw new Error(`endpoint: ${ep.status} ${JSON.stringify(ep.body)}`);
  return receiver;
}

const succeeded = (api: Api, customer: string, n: number) =>
  eventually(async () => {
    const { renewals } = await subscriptionsOf(api, customer);
    const done = renewals.filter((r) => r.kind === 'renewal' && r.status === 'succeeded');
    return done.length === n ? renewals : null;
  }, 90_000);

describe('renewals', () => {
  it('three monthly renewals are charged exactly once each, across a kill -9 of the workers mid-charge', { timeout: 360_000 }, async () => {
    const { tenantId, api } = await billingTenant(stack.apis[0]!.url);
    const receiver = await hooks(api);
    const { customer, subscriptionId } = await paidCustomer(api, 'pro');
    const first = (await subscriptionsOf(api, customer)).subscription!;
    const firstEnd = new Date(first.currentPeriodEnd!);
    expect(firstEnd.toISOString()).toBe(plusMonths(new Date(first.anchorAt), 1).toISOString());

    // 1st: an ordinary renewal
    await ageSubscription(subscriptionId);
    await succeeded(api, customer, 1);

    // 2nd: the workers die after the provider recorded the charge, before they heard back
    await workers.stop('SIGKILL');
    // its claim (20 s) outlasts a slow poll on a loaded machine: nobody takes over before the kill
    const slow = await startApp('workers', { ...stack.env, SANDBOX_CHARGE_DELAY_MS: '60000', RENEWAL_CLAIM_SECONDS: '20' });
    await ageSubscription(subscriptionId);
    await eventually(async () => (await renewalCharges(tenantId)).length === 2, 60_000);
    await slow.stop('SIGKILL');
    const midway = (await subscriptionsOf(api, customer)).renewals.filter((r) => r.status === 'charging');
    expect(midway).toHaveLength(1); // recorded as charging, nobody finishing it
    workers = await startApp('workers', stack.env); // takes over once the dead claim runs out
    await succeeded(api, customer, 2);

    // 3rd: after the restart, with a second workers process sweeping at the same time
    const second = await startApp('workers', stack.env);
    await ageSubscription(subscriptionId);
    const renewals = await succeeded(api, customer, 3);
    await new Promise((r) => setTimeout(r, 1000)); // both keep sweeping: nothing more may happen
    await second.stop('SIGKILL');

    const charges = await renewalCharges(tenantId);
    expect(charges).toHaveLength(3); // one provider charge per renewal: the resumed one repeated its key
    expect(charges.map((c) => c.amount)).toEqual([2000, 2000, 2000]);
    expect(new Set(charges.map((c) => c.key)).size).toBe(3);
    expect(renewals).toHaveLength(3);
    // three consecutive monthly periods, each from the previous end, all of plan pro at its price
    const periods = renewals.map((r) => [r.periodStart, r.periodEnd]).sort();
    for (let i = 0; i < 3; i++) {
      expect(new Date(periods[i]![1]!).toISOString()).toBe(plusMonths(new Date(periods[i]![0]!), 1).toISOString());
      if (i > 0) expect(periods[i]![0]).toBe(periods[i - 1]![1]);
    }
    expect(renewals.every((r) => r.plan === 'pro' && r.amount === 2000 && r.attempt === 1)).toBe(true);
    const { rows } = await db.query(`SELECT count(*)::int AS n FROM subscription_renewals WHERE subscription_id = $1`, [subscriptionId]);
    expect(rows[0].n).toBe(3);
    const renewed = await eventually(async () => {
      const r = bodies(receiver.received).filter((b) => b.type === 'subscription.renewed');
      return r.length >= 3 ? r : null;
    });
    await new Promise((r) => setTimeout(r, 1000)); // a late duplicate would arrive now
    expect(bodies(receiver.received).filter((b) => b.type === 'subscription.renewed')).toHaveLength(3);
    expect(new Set(renewed.map((b) => b.data.reference))).toEqual(new Set(renewals.map((r) => r.reference)));
    expect((await subscriptionsOf(api, customer)).subscription).toMatchObject({ plan: 'pro', status: 'active' });

    // the customer's purchases show each renewal: kind, plan, period and amount
    const listed = (await api.get(`/v1/purchases?customer=${customer}`)).body;
    const listedRenewals = listed.data.filter((p: { kind?: string }) => p.kind === 'renewal');
    expect(listedRenewals).toHaveLength(3);
    for (const r of renewals) {
      expect(listedRenewals).toContainEqual(expect.objectContaining({ reference: r.reference, source: 'renewal', plan: 'pro', pack: 'pro', status: 'completed',
        amount: 2000, currency: 'USD', periodStart: r.periodStart, periodEnd: r.periodEnd }));
    }
    // each one also answers by its reference, as the list shows it
    for (const r of listedRenewals) expect((await api.get(`/v1/purchases/${r.reference}`)).body).toEqual({ success: true, ...r });
    // paged one by one, the same three, newest first
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = (await api.get(`/v1/purchases?customer=${customer}&limit=1${cursor ? `&cursor=${cursor}` : ''}`)).body;
      seen.push(...page.data.map((p: { reference: string }) => p.reference));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual(listed.data.map((p: { reference: string }) => p.reference));
    await receiver.close();
  });

  it('a declined renewal is retried 1, 3 and 5 days after, then the plan is past_due; a new card pays it and the plan is back', { timeout: 180_000 }, async () => {
    const { tenantId, api } = await billingTenant(stack.apis[0]!.url);
    const receiver = await hooks(api);
    const { customer, subscriptionId } = await paidCustomer(api, 'pro');
    await saveCard(api, customer, '4000000000000002'); // the newest card, charged off-session: declines
    await ageSubscription(subscriptionId);

    const DAY = 86_400_000;
    for (const [attempt, offsetDays] of [[1, 1], [2, 3], [3, 5]] as const) {
      const r = await eventually(async () => {
        const x = (await subscriptionsOf(api, customer)).renewals[0];
        return x?.status === 'retrying' && x.attempt === attempt ? x : null;
      }, 30_000);
      expect(r.failure?.code).toBe('card_declined');
      const { rows } = await db.query('SELECT first_failed_at FROM subscription_renewals WHERE id = $1', [r.reference]);
      expect(new Date(r.nextAttemptAt!).getTime() - rows[0].first_failed_at.getTime()).toBe(offsetDays * DAY);
      // during grace the plan keeps working
      const during = await api.post('/v1/check', { customer, feature: 'ai-tokens', value: 1 });
      expect(during.body).toMatchObject({ allowed: true });
      expect((await subscriptionsOf(api, customer)).subscription?.status).toBe('active');
      await db.query('UPDATE subscription_renewals SET next_attempt_at = now() WHERE id = $1', [r.reference]); // the retry is due
    }
    const pastDue = await eventually(async () => {
      const s = await subscriptionsOf(api, customer);
      return s.subscription?.status === 'past_due' ? s : null;
    }, 30_000);
    expect(pastDue.renewals[0]).toMatchObject({ status: 'failed', attempt: 4, failure: { code: 'card_declined' } });
    const denied = await eventually(async () => {
      const c = await api.post('/v1/check', { customer, feature: 'ai-tokens', value: 1 });
      return c.body.code === 'subscription_past_due' ? c : null;
    });
    expect(denied.status).toBe(200);
    expect(denied.body).toMatchObject({ allowed: false, code: 'subscription_past_due' });
    const change = await api.post('/v1/attach', { customer, product: 'starter' });
    expect(change.status).toBe(409);
    expect(change.body.error.code).toBe('subscription_past_due');
    expect((await subscriptionsOf(api, customer)).subscription).toMatchObject({ plan: 'pro', status: 'past_due' });

    await saveCard(api, customer, '4242424242424242'); // a new card retries at once
    const back = await eventually(async () => {
      const s = await subscriptionsOf(api, customer);
      return s.subscription?.status === 'active' ? s : null;
    }, 30_000);
    expect(back.renewals[0]).toMatchObject({ status: 'succeeded', attempt: 5, amount: 2000 });
    await eventually(async () => (await api.post('/v1/check', { customer, feature: 'ai-tokens', value: 1 })).body.allowed === true);

    const charges = await renewalCharges(tenantId);
    expect(charges.map((c) => c.status)).toEqual(['declined', 'declined', 'declined', 'declined', 'succeeded']);
    const types = await eventually(async () => {
      const t = bodies(receiver.received).map((b) => b.type);
      return t.includes('subscription.renewed') && t.includes('subscription.updated') ? t : null;
    });
    expect(types.filter((t) => t === 'subscription.renewal_failed')).toHaveLength(4);
    expect(types.filter((t) => t === 'subscription.past_due')).toHaveLength(1);
    expect(types.filter((t) => t === 'subscription.renewed')).toHaveLength(1);
    await receiver.close();
  });

  it('a card that asks for 3-D Secure ("requires action") fails the off-session renewal with authentication_required, and is retried on schedule', { timeout: 60_000 }, async () => {
    const { api } = await billingTenant(stack.apis[0]!.url);
    const { customer, subscriptionId } = await paidCustomer(api, 'pro');
    await saveCard(api, customer, '4000002760003184');
    await ageSubscription(subscriptionId);
    const r = await eventually(async () => {
      const x = (await subscriptionsOf(api, customer)).renewals[0];
      return x?.status === 'retrying' ? x : null;
    }, 30_000);
    expect(r).toMatchObject({ attempt: 1, failure: { code: 'authentication_required' } });
    expect((await subscriptionsOf(api, customer)).subscription?.status).toBe('active');
  });
});
