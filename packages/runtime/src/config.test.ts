import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, parseConfig, sharedEnv } from './config.ts';

function problemsOf<S extends z.ZodObject>(schema: S, env: Record<string, string>): string {
  try {
    parseConfig(schema, env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).message;
  }
  throw new Error('the config was accepted');
}

describe('config errors name the variable and the rule, never a secret', () => {
  it('hides the value of a secret variable (ADMIN_TOKEN, METRICS_TOKEN, passwords, keys)', () => {
    const schema = z.object({
      ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters'),
      METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters'),
      CLICKHOUSE_PASSWORD: z.string().max(2),
      STRIPE_SECRET_KEY: z.string().startsWith('sk_'),
      GOOGLE_APPLICATION_CREDENTIALS_JSON: z.string().max(2),
    });
    const message = problemsOf(schema, {
      ADMIN_TOKEN: 'tooShortTok1',
      METRICS_TOKEN: 'tooShortTok2',
      CLICKHOUSE_PASSWORD: 'chPassword3',
      STRIPE_SECRET_KEY: 'xx_StripeKey4',
      GOOGLE_APPLICATION_CREDENTIALS_JSON: '{"private":"PemBody5"}',
    });
    expect(message).toMatch(/ADMIN_TOKEN: must be at least 16 characters \(got \(hidden\)\)/);
    expect(message).toMatch(/METRICS_TOKEN: must be at least 16 characters \(got \(hidden\)\)/);
    for (const name of ['CLICKHOUSE_PASSWORD', 'STRIPE_SECRET_KEY', 'GOOGLE_APPLICATION_CREDENTIALS_JSON']) expect(message).toContain(`${name}: `);
    for (const secret of ['tooShortTok1', 'tooShortTok2', 'chPassword3', 'StripeKey4', 'PemBody5']) expect(message).not.toContain(secret);
  });

  it('hides a secret-looking value put in any variable', () => {
    const schema = z.object({ API_HOST: z.string().max(5), PUBLIC_URL: z.url() });
    const message = problemsOf(schema, { API_HOST: 'sk_live_51QzLiveSecret', PUBLIC_URL: 'whsec_WebhookSecret' });
    expect(message).toMatch(/API_HOST: .*\(got \(hidden\)\)/);
    expect(message).toMatch(/PUBLIC_URL: .*\(got \(hidden\)\)/);
    expect(message).not.toContain('LiveSecret');
    expect(message).not.toContain('WebhookSecret');
  });

  it('masks credentials in URLs and broker lists, passwords holding @ or / included, and in query parameters', () => {
    const message = problemsOf(sharedEnv, {
      DATABASE_URL: 'mysql://tally:p@ss/w0rd@db.internal/tally',
      REDIS_URL: 'http://cache.internal:6379/0?password=RedisPass9&db=0',
      KAFKA_BROKERS: 'svc:KafkaPass7@broker-1 9092',
      CLICKHOUSE_URL: 'ftp://ch.internal?user=x&access_token=ChToken8',
    });
    expect(message).toContain('DATABASE_URL: must be a postgres or postgresql URL (got "mysql://***@db.internal/tally")');
    expect(message).toContain('REDIS_URL');
    expect(message).toContain('password=***&db=0');
    expect(message).toContain('KAFKA_BROKERS');
    expect(message).toContain('access_token=***');
    for (const secret of ['p@ss', 'w0rd', 'RedisPass9', 'KafkaPass7', 'ChToken8']) expect(message).not.toContain(secret);
  });

  it('still shows a plain wrong value, cut short when long', () => {
    const schema = z.object({ API_PORT: z.coerce.number().int(), LOG_FORMAT: z.enum(['json', 'pretty']) });
    const message = problemsOf(schema, { API_PORT: 'eighty', LOG_FORMAT: 'x'.repeat(500) });
    expect(message).toContain('(got "eighty")');
    expect(message).toContain(`(got "${'x'.repeat(120)}…")`);
  });
});

describe('production refuses the shared defaults', () => {
  const base = { NODE_ENV: 'production' };
  it('NODE_ENV=production with CLICKHOUSE_PASSWORD unset or empty: refused, naming it', () => {
    for (const env of [base, { ...base, CLICKHOUSE_PASSWORD: '' }]) {
      expect(problemsOf(sharedEnv, env)).toContain('CLICKHOUSE_PASSWORD: is unset or empty; set the ClickHouse password when NODE_ENV=production');
    }
  });

  it('accepted with a password in production, and without one in development and test', () => {
    expect(parseConfig(sharedEnv, { ...base, CLICKHOUSE_PASSWORD: 'chSecretPass1' }).CLICKHOUSE_PASSWORD).toBe('chSecretPass1');
    for (const NODE_ENV of ['development', 'test']) expect(parseConfig(sharedEnv, { NODE_ENV }).CLICKHOUSE_PASSWORD).toBe('');
  });
});
