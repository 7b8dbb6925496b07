import { z } from 'zod';
import type { Pool } from '@tally/postgres';
import { SecretBox, parseCredentialsKey } from './secret-box.ts';

/** The published development key: fine for `npm start`, refused with NODE_ENV=production. */
export const DEV_CREDENTIALS_KEY = '0'.repeat(64);

/** Merged into the API's and the workers' config schemas. */
export const credentialsEnv = z.object({
  CREDENTIALS_KEY: z
    .string()
    .refine((t) => /^[0-9a-f]{64}$/i.test(t) || Buffer.from(t, 'base64').length === 32, 'must be 32 bytes as 64 hex or 44 base64 characters')
    .default(DEV_CREDENTIALS_KEY),
});

export function credentialsEnvRules(env: z.infer<typeof credentialsEnv> & { NODE_ENV?: string }, ctx: z.RefinementCtx): void {
  if (env.NODE_ENV === 'production' && env.CREDENTIALS_KEY === DEV_CREDENTIALS_KEY) {
    ctx.addIssue({ code: 'custom', path: ['CREDENTIALS_KEY'], message: 'is unset or the public development default; set your own 32-byte key when NODE_ENV=production' });
  }
}

export interface ProviderKeys {
  secretKey: string;
  webhookSecret: string;
}

export interface StoredKeys extends ProviderKeys {
  keyHint: string;
  updatedAt: Date;
}

/** `sk_test_…wxyz`: enough to recognise a key, never enough to use it. */
const hintOf = (key: string) => `${/^[a-z]{2}_(test|live)_/.exec(key)?.[0] ?? ''}…${key.slice(-4)}`;

/** A tenant's own provider keys, sealed at rest; the deployment's keys stay the default for tenants without. */
export class ProviderCredentials {
  private readonly box: SecretBox;

  constructor(
    private readonly pool: Pool,
    key: string,
  ) {
    this.box = new SecretBox(parseCredentialsKey(key));
  }

  async put(tenantId: string, provider: string, keys: ProviderKeys): Promise<{ keyHint: string; updatedAt: Date }> {
    const ctx = (field: string) => `${tenantId}:${provider}:${field}`;
    const { rows } = await this.pool.query<{ key_hint: string; updated_at: Date }>(
      `INSERT INTO tenant_provider_credentials (tenant_id, provider, secret_key_sealed, webhook_sealed, key_hint)
       VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (tenant_id, provider) DO UPDATE SET secret_key_sealed = EXCLUDED.secret_key_sealed,
         webhook_sealed = EXCLUDED.webhook_sealed, key_hint = EXCLUDED.key_hint, updated_at = clock_timestamp()
       RETURNING key_hint, updated_at`,
      [tenantId, provider, this.box.seal(keys.secretKey, ctx('secretKey')), this.box.seal(keys.webhookSecret, ctx('webhookSecret')), hintOf(keys.secretKey)],
    );
    return { keyHint: rows[0]!.key_hint, updatedAt: rows[0]!.updated_at };
  }

  async get(tenantId: string, provider: string): Promise<StoredKeys | null> {
    const { rows } = await this.pool.query<{ secret_key_sealed: string; webhook_sealed: string; key_hint: string; updated_at: Date }>(
      'SELECT secret_key_sealed, webhook_sealed, key_hint, updated_at FROM tenant_provider_credentials WHERE tenant_id = $1 AND provider = $2',
      [tenantId, provider],
    );
    const r = rows[0];
    if (!r) return null;
    const ctx = (field: string) => `${tenantId}:${provider}:${field}`;
    return {
      secretKey: this.box.open(r.secret_key_sealed, ctx('secretKey')),
      webhookSecret: this.box.open(r.webhook_sealed, ctx('webhookSecret')),
      keyHint: r.key_hint,
      updatedAt: r.updated_at,
    };
  }

  async remove(tenantId: string, provider: string): Promise<boolean> {
    const { rowCount } = await this.pool.query('DELETE FROM tenant_provider_credentials WHERE tenant_id = $1 AND provider = $2', [tenantId, provider]);
    return (rowCount ?? 0) > 0;
  }
}
