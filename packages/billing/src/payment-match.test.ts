import { describe, expect, it } from 'vitest';
import type { PaidFacts } from '@tally/payments';
import { paymentMismatch, type ExpectedPayment } from './payment-match.ts';

const expected: ExpectedPayment = { reference: 'ref-1', tenantId: 't-1', checkoutId: 'cs_1', amountMinor: 3000n, currency: 'USD' };
const paid: PaidFacts = { checkoutId: 'cs_1', amountMinor: 3000n, currency: 'USD', reference: 'ref-1', tenantId: 't-1' };

describe('a provider payment against the purchase it names', () => {
  it('is that payment when session, metadata, amount and currency all agree (currency in any case)', () => {
    expect(paymentMismatch(expected, paid)).toBeNull();
    expect(paymentMismatch(expected, { ...paid, currency: 'usd' })).toBeNull();
    // plan checkouts keep no session id: only the provider-side metadata binds it
    const { checkoutId: _none, ...plan } = expected;
    expect(paymentMismatch(plan, { ...paid, checkoutId: 'cs_whatever' })).toBeNull();
  });

  it('names the first difference', () => {
    expect(paymentMismatch(expected, { ...paid, checkoutId: 'cs_payment_link' })).toMatch(/checkout session cs_payment_link is not the one/);
    expect(paymentMismatch({ ...expected, checkoutId: null }, paid)).toMatch(/not the one Tally opened for it \(none\)/);
    expect(paymentMismatch(expected, { ...paid, reference: null })).toMatch(/names reference \(none\)/);
    expect(paymentMismatch(expected, { ...paid, reference: 'ref-2' })).toMatch(/names reference ref-2/);
    expect(paymentMismatch(expected, { ...paid, tenantId: 't-2' })).toMatch(/another tenant/);
    expect(paymentMismatch(expected, { ...paid, amountMinor: 2999n })).toMatch(/amount paid 2999 is not the 3000/);
    expect(paymentMismatch(expected, { ...paid, amountMinor: 3001n })).toMatch(/amount paid 3001/);
    expect(paymentMismatch(expected, { ...paid, amountMinor: null })).toMatch(/amount paid \(unknown\)/);
    expect(paymentMismatch(expected, { ...paid, currency: 'VND' })).toMatch(/currency paid VND is not USD/);
    expect(paymentMismatch(expected, { ...paid, currency: null })).toMatch(/currency paid \(unknown\)/);
  });
});
