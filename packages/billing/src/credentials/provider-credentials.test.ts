import { describe, expect, it } from 'vitest';
import { ProviderCredentials } from './provider-credentials.ts';
import type { ProviderCredentialsStore, SealedKeys } from './provider-credentials-repo.ts';

/** The repository's contract in memory: what the service hands it is what is at rest. */
function memoryStore(): ProviderCredentialsStore & { rows: Map<string, SealedKeys & { updatedAt: Date }> } {
  const rows = new Map<string, SealedKeys & { updatedAt: Date }>();
  return {
    rows,
    async upsert(tenantId, provider, keys) {
      const row = { ...keys, updatedAt: new Date() };
      rows.set(`${tenantId}:${provider}`, row);
      return { keyHint: row.keyHint, updatedAt: row.updatedAt };
    },
    async find(tenantId, provider) {
      return rows.get(`${tenantId}:${provider}`) ?? null;
    },
    async remove(tenantId, provider) {
      return rows.delete(`${tenantId}:${provider}`);
    },
  };
}

const KEY = 'ab'.repeat(32);

describe('ProviderCredentials over its repository', () => {
  it('stores the keys sealed with a hint only, and opens them again', async () => {
    const store = memoryStore();
    const credentials = new ProviderCredentials(store, KEY);
    const put = await credentials.put('t1', 'stripe', { secretKey: 'sk_test_secret1234', webhookSecret: 'whsec_hook' });
    expect(put.keyHint).toBe('sk_test_…1234');
    const atRest = JSON.stringify([...store.rows.values()]);
    expect(atRest).not.toContain('sk_test_secret1234');
    expect(atRest).not.toContain('whsec_hook');
    expect(await credentials.get('t1', 'stripe')).toMatchObject({ secretKey: 'sk_test_secret1234', webhookSecret: 'whsec_hook', keyHint: 'sk_test_…1234' });
    expect(await credentials.get('t2', 'stripe')).toBeNull();
  });

  it("refuses another tenant's sealed keys copied under its name (the tenant is part of the seal)", async () => {
    const store = memoryStore();
    const credentials = new ProviderCredentials(store, KEY);
    await credentials.put('t1', 'stripe', { secretKey: 'sk_live_abcd', webhookSecret: 'whsec_x' });
    store.rows.set('t2:stripe', store.rows.get('t1:stripe')!);
    await expect(credentials.get('t2', 'stripe')).rejects.toThrow();
  });

  it('answers whether there was something to remove', async () => {
    const credentials = new ProviderCredentials(memoryStore(), KEY);
    await credentials.put('t1', 'stripe', { secretKey: 'sk_test_1', webhookSecret: 'w' });
    expect(await credentials.remove('t1', 'stripe')).toBe(true);
    expect(await credentials.remove('t1', 'stripe')).toBe(false);
  });
});
