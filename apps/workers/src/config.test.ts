import { describe, expect, it } from 'vitest';
import { loadWorkersConfig } from './config.ts';

describe('workers config: Stripe secrets', () => {
  it('refuses a Stripe key without the webhook signing secret, naming it and printing no secret', () => {
    expect(() => loadWorkersConfig({ STRIPE_SECRET_KEY: 'sk_test_WorkersSecretValue' })).toThrow(/STRIPE_WEBHOOK_SECRET: is required when STRIPE_SECRET_KEY is set/);
    expect(() => loadWorkersConfig({ STRIPE_SECRET_KEY: 'sk_test_WorkersSecretValue' })).not.toThrow(/WorkersSecretValue/);
    expect(loadWorkersConfig({ STRIPE_SECRET_KEY: 'sk_test_x', STRIPE_WEBHOOK_SECRET: 'whsec_y' }).STRIPE_WEBHOOK_SECRET).toBe('whsec_y');
  });
});
