import { describe, expect, it } from 'vitest';
import type { PaymentEnvironment, PaymentProvider } from './provider.ts';
import { ProviderRegistry } from './registry.ts';
import { StripeProvider } from './stripe/stripe-provider.ts';

/** Only the two fields the registry reads; the rest of the port is never called here. */
const named = (name: string, environment: PaymentEnvironment) => ({ name, environment }) as PaymentProvider;

describe('choosing a provider by the tenant environment', () => {
  it('gives a provider only to tenants of its own environment', () => {
    const live = new ProviderRegistry().add(new StripeProvider({ secretKey: 'sk_live_x', webhookSecret: 'whsec_x' })).add(named('sandbox', 'test'));
    expect(live.get('stripe', 'live').name).toBe('stripe');
    expect(live.get('sandbox', 'test').name).toBe('sandbox');
    expect(() => live.get('stripe', 'test')).toThrow(expect.objectContaining({
      code: 'provider_not_configured',
      status: 400,
      message: expect.stringContaining('not configured for test tenants'),
      details: { provider: 'stripe', environment: 'test' },
    }));
    expect(() => live.get('sandbox', 'live')).toThrow(/"sandbox" is not configured for live tenants/);

    const test = new ProviderRegistry().add(new StripeProvider({ secretKey: 'sk_test_x', webhookSecret: 'whsec_x' }));
    expect(test.get('stripe', 'test').name).toBe('stripe');
    expect(() => test.get('stripe', 'live')).toThrow(/not configured for live tenants/);
  });

  it('names a provider that is not configured at all, and verifies webhooks whatever the tenant', () => {
    const registry = new ProviderRegistry().add(named('sandbox', 'test'));
    expect(() => registry.get('stripe', 'test')).toThrow(expect.objectContaining({ code: 'provider_not_configured', details: { provider: 'stripe' } }));
    expect(registry.verifier('sandbox').name).toBe('sandbox');
    expect(() => registry.verifier('stripe')).toThrow(/"stripe" is not configured/);
  });
});
