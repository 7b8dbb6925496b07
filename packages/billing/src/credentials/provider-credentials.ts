import { z } from 'zod';
import type { ProviderCredentialsStore } from './provider-credentials-repo.ts';
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
    private readonly store: ProviderCredentialsStore,
    key: string,
  ) {
    this.box = new SecretBox(parseCredentialsKey(key));
  }

  async put(tenantId: string, provider: string, keys: ProviderKeys): Promise<{ keyHint: string; updatedAt: Date }> {
    const ctx = (field: string) => `${tenantId}:${provider}:${field}`;
    return this.store.upsert(tenantId, provider, {
      secretKeySealed: this.box.seal(keys.secretKey, ctx('secretKey')),
      webhookSealed: this.box.seal(keys.webhookSecret, ctx('webhookSecret')),
      keyHint: hintOf(keys.secretKey),
    });
  }

  async get(tenantId: string, provider: string): Promise<StoredKeys | null> {
    const r = await this.store.find(tenantId, provider);
    if (!r) return null;
    const ctx = (field: string) => `${tenantId}:${provider}:${field}`;
    return {
      secretKey: this.box.open(r.secretKeySealed, ctx('secretKey')),
      webhookSecret: this.box.open(r.webhookSealed, ctx('webhookSecret')),
      keyHint: r.keyHint,
      updatedAt: r.updatedAt,
    };
  }

  remove(tenantId: string, provider: string): Promise<boolean> {
    return this.store.remove(tenantId, provider);
  }
}
