import { describe, expect, it } from 'vitest';
import { ConfigError } from '@tally/runtime';
import { loadApiConfig } from './config.ts';

const KEY = 'sk_live_51QzSecretValueNeverPrinted';

function problemsOf(env: Record<string, string>): string {
  try {
    loadApiConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).message;
  }
  throw new Error('the config was accepted');
}

describe('API config: Stripe secrets', () => {
  it('refuses a Stripe key without the webhook signing secret, naming it and printing no secret', () => {
    const cases: Array<Record<string, string>> = [{ STRIPE_SECRET_KEY: KEY }, { STRIPE_SECRET_KEY: KEY, STRIPE_WEBHOOK_SECRET: '' }];
    for (const env of cases) {
      const message = problemsOf(env);
      expect(message).toMatch(/STRIPE_WEBHOOK_SECRET: is required when STRIPE_SECRET_KEY is set/);
      expect(message).not.toContain('51QzSecretValueNeverPrinted');
    }
  });

  it('names a malformed key or secret without printing its value', () => {
    const key = problemsOf({ STRIPE_SECRET_KEY: 'sk_prod_TopSecret123', STRIPE_WEBHOOK_SECRET: 'whsec_x' });
    expect(key).toMatch(/STRIPE_SECRET_KEY: must be a Stripe secret key .*\(got \(hidden\)\)/);
    expect(key).not.toContain('TopSecret123');
    const secret = problemsOf({ STRIPE_SECRET_KEY: KEY, STRIPE_WEBHOOK_SECRET: 'not-a-whsec-SecretTail' });
    expect(secret).toMatch(/STRIPE_WEBHOOK_SECRET: must be the webhook endpoint's signing secret/);
    expect(secret).not.toContain('SecretTail');
    expect(secret).not.toContain('51QzSecretValueNeverPrinted');
    const url = problemsOf({ DATABASE_URL: 'mysql://tally:DbPassword9@db.internal/tally' });
    expect(url).toMatch(/DATABASE_URL: .*\(got "mysql:\/\/\*\*\*@db.internal\/tally"\)/);
    expect(url).not.toContain('DbPassword9');
  });

  it('starts with both set, or with neither (empty counts as unset)', () => {
    expect(loadApiConfig({ STRIPE_SECRET_KEY: KEY, STRIPE_WEBHOOK_SECRET: 'whsec_abc' })).toMatchObject({ STRIPE_SECRET_KEY: KEY, STRIPE_WEBHOOK_SECRET: 'whsec_abc' });
    const none = loadApiConfig({ STRIPE_SECRET_KEY: '', STRIPE_WEBHOOK_SECRET: '' });
    expect(none.STRIPE_SECRET_KEY).toBeUndefined();
    expect(none.STRIPE_WEBHOOK_SECRET).toBeUndefined();
  });
});
