import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { parseConfig } from '@tally/runtime';
import { paymentsEnv, paymentsEnvRules, sandboxEnabled } from './config.ts';

const schema = z
  .object({ NODE_ENV: z.enum(['development', 'test', 'production']).default('development') })
  .extend(paymentsEnv.shape)
  .superRefine(paymentsEnvRules);
const parse = (env: Record<string, string>) => parseConfig(schema, env);

describe('payments config in production', () => {
  it('refuses the published sandbox secret (unset or set to it), naming the variable and hiding the value', () => {
    expect(() => parse({ NODE_ENV: 'production' })).toThrow(/SANDBOX_WEBHOOK_SECRET: is unset or the public development default.*\(got null\)/);
    const set = () => parse({ NODE_ENV: 'production', SANDBOX_WEBHOOK_SECRET: 'whsec_sandbox_local_development_only' });
    expect(set).toThrow(/SANDBOX_WEBHOOK_SECRET: is unset or the public development default.*\(got \(hidden\)\)/);
    expect(set).not.toThrow(/local_development_only/);
    expect(() => parse({ NODE_ENV: 'production', SANDBOX_PROVIDER: 'enabled' })).toThrow(/SANDBOX_WEBHOOK_SECRET/);
  });

  it('starts with an own secret; development and test keep the default', () => {
    expect(parse({ NODE_ENV: 'production', SANDBOX_WEBHOOK_SECRET: 'whsec_own_production_secret_1' }).SANDBOX_WEBHOOK_SECRET).toBe('whsec_own_production_secret_1');
    expect(parse({ NODE_ENV: 'development' }).SANDBOX_WEBHOOK_SECRET).toBe('whsec_sandbox_local_development_only');
    expect(parse({ NODE_ENV: 'test' }).SANDBOX_WEBHOOK_SECRET).toBe('whsec_sandbox_local_development_only');
  });

  it('the sandbox is off in production unless SANDBOX_PROVIDER=enabled, on elsewhere unless disabled', () => {
    expect(sandboxEnabled({ NODE_ENV: 'production', SANDBOX_PROVIDER: undefined })).toBe(false);
    expect(sandboxEnabled({ NODE_ENV: 'production', SANDBOX_PROVIDER: 'enabled' })).toBe(true);
    expect(sandboxEnabled({ NODE_ENV: 'development', SANDBOX_PROVIDER: undefined })).toBe(true);
    expect(sandboxEnabled({ NODE_ENV: 'test', SANDBOX_PROVIDER: 'disabled' })).toBe(false);
    expect(() => parse({ SANDBOX_PROVIDER: 'yes' })).toThrow(/SANDBOX_PROVIDER: must be 'enabled' or 'disabled'/);
  });
});
