import { describe, expect, it } from 'vitest';
import { idempotencyKeyReused, isSameAddon, type AddonAsk } from './idempotency.ts';
import type { Purchase } from './purchase-repo.ts';

const purchase: Purchase = {
  id: 'pur_1', tenantId: 't', customerId: 'cus_1', packId: 'pack-uuid', packSlug: 'pack-10', packName: 'Pack 10', creditSystem: 'ai-credits',
  quantity: 2, creditsMicro: 20_000_000n, amountMinor: 200n, currency: 'USD', provider: 'sandbox', source: 'purchase',
  status: 'awaiting_payment', idempotencyKey: 'k', paymentMethodId: null, checkoutId: null, checkoutUrl: null, chargeId: null,
  failureCode: null, failureMessage: null, callbackUrl: 'https://app.example/thanks', metadata: { order: 7, tags: ['a'] },
  refundPolicy: 'unspent', createdAt: new Date(), completedAt: null,
};
const ask: AddonAsk = { customer: 'cus_1', pack: 'pack-10', quantity: 2, callbackUrl: 'https://app.example/thanks', metadata: { tags: ['a'], order: 7 } };

describe('an Idempotency-Key retry must be the same addon request', () => {
  it('the same request (pack by slug or id, metadata in any key order, the charged currency) is the same', () => {
    expect(isSameAddon(ask, purchase)).toBe(true);
    expect(isSameAddon({ ...ask, pack: 'pack-uuid' }, purchase)).toBe(true);
    expect(isSameAddon({ ...ask, currency: 'usd' }, purchase)).toBe(true);
  });

  it.each<[string, Partial<AddonAsk>]>([
    ['another customer', { customer: 'cus_2' }],
    ['another pack', { pack: 'pack-20' }],
    ['another quantity', { quantity: 3 }],
    ['another currency', { currency: 'EUR' }],
    ['no callback URL', { callbackUrl: undefined }],
    ['another metadata value', { metadata: { order: 8, tags: ['a'] } }],
    ['no metadata', { metadata: undefined }],
    ['an auto top-up', { source: 'auto_topup' }],
  ])('%s is a different request', (_what, change) => {
    expect(isSameAddon({ ...ask, ...change }, purchase)).toBe(false);
  });

  it('is answered 422 idempotency_key_reused naming the first purchase', () => {
    expect(idempotencyKeyReused('k', purchase)).toMatchObject({ code: 'idempotency_key_reused', status: 422, details: { reference: 'pur_1' } });
  });
});
