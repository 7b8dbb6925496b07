import { SYSTEM } from './catalog.ts';
import type { TenantHandle } from './compare.ts';
import { micro, type PurchaseModel } from './model.ts';
import { unexpected, type OpContext } from './ops.ts';
import type { Rng } from './rng.ts';

/**
 * Buying packs and refunding them (docs/billing.md), with the sandbox
 * provider: a card on file is charged at once; without one the sim pays on
 * the hosted checkout page as a browser would (sometimes a declined card
 * first, sometimes ticking "Save this card", sometimes never paying).
 * Both are barriers for their customer: the caller has waited until every
 * event of that customer sent before is applied, so the model knows the grant
 * (or the revoke) comes after them and before anything sent later.
 */
const GOOD_CARDS = ['4242424242424242', '5555555555554444'];
const DECLINED_CARD = '4000000000000002';
// as long as a request is retried: with an API killed and a broker down, a paid checkout took > 30 s to complete (seed 203, cluster)
const PURCHASE_WAIT_MS = 120_000;

interface AddonAnswer {
  success?: boolean;
  requiresCheckout?: boolean;
  checkoutUrl?: string;
  reference?: string;
  status?: string;
  credits?: number;
  error?: { code?: string };
}
interface PurchaseAnswer {
  status?: string;
  customer?: string;
  pack?: string;
  quantity?: number;
  credits?: number;
  refund?: { revokedCredits: number; spentCredits: number } | null;
}

const show = (m: bigint) => (Number(m) / 1e6).toString();

export async function addon(ctx: OpContext, t: TenantHandle, rng: Rng, customer: string, seq: number): Promise<void> {
  const packs = t.model.catalog.creditPacks;
  if (packs.length === 0) return;
  const pack = rng.pick(packs);
  const quantity = rng.pick([1, 1, 2, 3]);
  const c = t.model.customer(customer);
  const request = { customer, pack: pack.slug, quantity };
  const key = { 'Idempotency-Key': `sim-${t.label}-${seq}` };
  const what = `addon ${pack.slug} x${quantity} (${c.hasCard ? 'card on file' : 'no card'})`;
  let res = await ctx.apis.call(t.secret, 'POST', '/v1/addon', request, undefined, key);
  let a = res.body as AddonAnswer;
  if (res.status !== 200 && res.status !== 202) return unexpected(ctx, t, customer, what, res.status, a);
  if (!a.reference) return unexpected(ctx, t, customer, `${what}: no reference`, res.status, a);
  const p: PurchaseModel = { reference: a.reference, customer, pack: pack.slug, quantity, credits: micro(pack.credits) * BigInt(quantity), status: 'awaiting_payment', refund: null };
  if (a.requiresCheckout !== !c.hasCard) return unexpected(ctx, t, customer, `${what}: requiresCheckout ${a.requiresCheckout}`, res.status, a);

  if (c.hasCard) {
    if (res.status === 202) {
      // slower than the API's wait: poll, then the same request with the same key answers the completed purchase
      if (!(await purchaseSettles(ctx, t, p.reference))) return unexpected(ctx, t, customer, `${what}: purchase ${p.reference} never completed`, 202, a);
      res = await ctx.apis.call(t.secret, 'POST', '/v1/addon', request, undefined, key);
      a = res.body as AddonAnswer;
    }
    if (res.status !== 200 || a.status !== 'completed' || a.reference !== p.reference) return unexpected(ctx, t, customer, `${what}: not completed`, res.status, a);
    if (a.credits === undefined || micro(a.credits) !== p.credits) return unexpected(ctx, t, customer, `${what}: credits ${a.credits}, model ${show(p.credits)}`, res.status, a);
    t.model.purchases.set(p.reference, p);
    t.model.completePurchase(p, SYSTEM, Date.now());
    ctx.history.add(t.label, [customer], `${what} -> charged at once, ${p.reference}: grant of ${p.credits} micro`);
    return;
  }

  if (!a.checkoutUrl) return unexpected(ctx, t, customer, `${what}: no checkoutUrl`, res.status, a);
  t.model.purchases.set(p.reference, p);
  ctx.history.add(t.label, [customer], `${what} -> checkout ${p.reference}`);
  if (rng.chance(0.2)) return ctx.history.add(t.label, [customer], `checkout ${p.reference} left unpaid`);
  if (rng.chance(0.25)) {
    const declined = await payOnPage(a.checkoutUrl, DECLINED_CARD, false);
    if (declined !== 402) return unexpected(ctx, t, customer, `checkout ${p.reference}: declined card answered`, declined, null);
    ctx.history.add(t.label, [customer], `checkout ${p.reference}: declined card -> 402`);
  }
  const save = rng.chance(0.5);
  const paid = await payOnPage(a.checkoutUrl, rng.pick(GOOD_CARDS), save);
  if (paid !== 303 && paid !== 200) return unexpected(ctx, t, customer, `checkout ${p.reference}: payment answered`, paid, null);
  if (!(await purchaseSettles(ctx, t, p.reference))) return unexpected(ctx, t, customer, `checkout ${p.reference}: paid, never completed`, paid, null);
  t.model.completePurchase(p, SYSTEM, Date.now());
  if (save) {
    // the card is kept by the same webhook that granted the credits
    const w = await ctx.apis.call(t.secret, 'GET', `/v1/wallet?customer=${encodeURIComponent(customer)}`);
    if (w.status !== 200 || (w.body as { hasCard?: boolean }).hasCard !== true) return unexpected(ctx, t, customer, `checkout ${p.reference}: card saved but wallet`, w.status, w.body);
    c.hasCard = true;
  }
  ctx.history.add(t.label, [customer], `checkout ${p.reference} paid${save ? ' (card saved)' : ''}: grant of ${p.credits} micro`);
}

/** Refund of one of the tenant's purchases: completed ones revoke the unspent credits, others are 409. */
export async function refund(ctx: OpContext, t: TenantHandle, p: PurchaseModel): Promise<void> {
  const res = await ctx.apis.call(t.secret, 'POST', `/v1/purchases/${p.reference}/refund`);
  const what = `refund ${p.reference} (${p.status})`;
  if (p.status === 'awaiting_payment') {
    const code = (res.body as { error?: { code?: string } }).error?.code;
    if (res.status !== 409 || code !== 'purchase_not_refundable') return unexpected(ctx, t, p.customer, `${what}: expected 409 purchase_not_refundable`, res.status, res.body);
    return ctx.history.add(t.label, [p.customer], `${what} -> 409, nothing changes`);
  }
  if (res.status !== 200) return unexpected(ctx, t, p.customer, what, res.status, res.body);
  const b = res.body as { revokedCredits?: number; spentCredits?: number };
  const expected = t.model.refund(p, SYSTEM);
  const got = { revoked: toMicro(b.revokedCredits), spent: toMicro(b.spentCredits) };
  if (got.revoked !== expected.revoked || got.spent !== expected.spent) {
    ctx.divergences.push({
      tenant: t.label, customer: p.customer, what: `${what}: revoked / spent`,
      expected: `${show(expected.revoked)} / ${show(expected.spent)}`, actual: `${b.revokedCredits} / ${b.spentCredits}`,
    });
  }
  ctx.history.add(t.label, [p.customer], `${what} -> revoked ${b.revokedCredits}, spent ${b.spentCredits} (model ${show(expected.revoked)} / ${show(expected.spent)})`);
}

const toMicro = (n: number | undefined) => (typeof n === 'number' ? micro(n) : null);

/**
 * Submits the sandbox hosted page's form as a browser would; the HTTP status (303 to the return page when paid).
 * A page whose API was killed gives no answer: the "browser" submits again (the API restarts on the same port),
 * for as long as the sim retries API calls. A 409 "Already paid" after a submit that got no answer means that
 * submit was taken, so it counts as the 303 it would have had; the page never takes a second payment.
 */
async function payOnPage(url: string, cardNumber: string, saveCard: boolean, retryForMs = 120_000): Promise<number> {
  const form = new URLSearchParams({ cardNumber, expiry: '12/34', cvc: '123', ...(saveCard ? { saveCard: 'true' } : {}) });
  const deadline = Date.now() + retryForMs;
  let unanswered = false;
  for (;;) {
    try {
      const res = await fetch(url, { method: 'POST', body: form, redirect: 'manual', signal: AbortSignal.timeout(15_000) });
      await res.text();
      return unanswered && res.status === 409 ? 303 : res.status;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`checkout page ${url}: no answer within ${retryForMs} ms (${String(err)})`);
      unanswered = true;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/** Polls GET /v1/purchases/:reference until completed; false when it does not within PURCHASE_WAIT_MS. */
async function purchaseSettles(ctx: OpContext, t: TenantHandle, reference: string): Promise<boolean> {
  const deadline = Date.now() + PURCHASE_WAIT_MS;
  while (Date.now() < deadline) {
    const r = await ctx.apis.call(t.secret, 'GET', `/v1/purchases/${reference}`);
    const status = (r.body as PurchaseAnswer).status;
    if (status === 'completed') return true;
    if (status === 'failed') return false;
    await new Promise((res) => setTimeout(res, 50));
  }
  return false;
}

export type { PurchaseAnswer };
