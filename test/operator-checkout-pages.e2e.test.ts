/**
 * Issue 15: what a customer reads on the sandbox's hosted pages. The checkout
 * page names the pack (its name, not its slug); the page the sandbox returns
 * to after saving a card talks about the card, never about a payment, and the
 * one after paying talks about the payment.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { billingTenant, db, newCustomer, payOnPage } from './billing.support.ts';

afterAll(async () => {
  await db.end();
});

/** What the page says, from its heading on (the sandbox banner above it is the same on every page), tags dropped. */
const textOf = (html: string) => (/<h1>.*$/s.exec(html)?.[0] ?? '').replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim();

describe('sandbox hosted pages', () => {
  it('the checkout page shows the pack name; the return page after paying speaks of the payment', async () => {
    const { api } = await billingTenant();
    const customer = await newCustomer(api);
    const addon = await api.post('/v1/addon', { customer, pack: '500-ai-credits', quantity: 2 });
    expect(addon.status, JSON.stringify(addon.body)).toBe(200);
    const page = await (await fetch(addon.body.checkoutUrl)).text();
    expect(page).toContain('<h1>500 AI Credits</h1>');
    expect(page).toMatch(/data-quantity>2</);
    expect(page).not.toContain('500-ai-credits');

    const paid = await payOnPage(addon.body.checkoutUrl, '4242424242424242');
    expect(paid.status).toBe(303);
    const back = await fetch(new URL(paid.location!, addon.body.checkoutUrl));
    expect(back.status).toBe(200);
    const text = textOf(await back.text());
    expect(text).toMatch(/payment/i);
    expect(text).not.toMatch(/\bcard\b/i);
  });

  it('the return page after saving a card speaks of the card, not of a payment', async () => {
    const { api } = await billingTenant();
    const customer = await newCustomer(api);
    const setup = await api.post('/v1/wallet/setup', { customer });
    expect(setup.status, JSON.stringify(setup.body)).toBe(200);
    const page = textOf(await (await fetch(setup.body.url)).text());
    expect(page).toContain('Save a card');

    const saved = await payOnPage(setup.body.url, '4242424242424242');
    expect(saved.status).toBe(303);
    const back = await fetch(new URL(saved.location!, setup.body.url));
    expect(back.status).toBe(200);
    const text = textOf(await back.text());
    expect(text).toMatch(/\bcard\b/i);
    expect(text).not.toMatch(/payment/i);
  });
});
