import { afterAll, describe, expect, it } from 'vitest';
import { createPool } from '@tally/postgres';
import { parseConfig, sharedEnv } from '@tally/runtime';
import { TenantService } from '../tenancy/tenants.ts';
import { CatalogService } from '../catalog/catalog-service.ts';
import { CatalogRepo } from '../catalog/catalog-repo.ts';
import { CustomerService } from './customer-service.ts';
import { CustomerRepo } from './customer-repo.ts';

const config = parseConfig(sharedEnv);
const pool = createPool(config.DATABASE_URL, 4);
const tenants = new TenantService(pool);
afterAll(() => pool.end());

const newTenant = async () => (await tenants.createTenant(`customers-int-${Date.now()}`)).tenantId;

describe('CustomerService against Postgres', () => {
  it('ensure creates a missing customer once and context reads it back', async () => {
    const tenantId = await newTenant();
    const customers = new CustomerService(new CustomerRepo(pool), new CatalogService(new CatalogRepo(pool)));
    expect(await customers.context(tenantId, 'user_1')).toBeNull();
    const created = await customers.ensure(tenantId, 'user_1', { email: 'a@example.com', name: 'A' });
    expect(created.customer).toMatchObject({ id: 'user_1', email: 'a@example.com', name: 'A', metadata: {} });
    expect(created.subscription).toBeNull();
    const again = await customers.ensure(tenantId, 'user_1', { email: 'other@example.com' });
    expect(again.customer.email).toBe('a@example.com');
    const { rows } = await pool.query('SELECT count(*)::int AS n FROM customers WHERE tenant_id = $1', [tenantId]);
    expect(rows[0].n).toBe(1);
  });

  it('ensure drops an email that another customer already uses instead of failing', async () => {
    const tenantId = await newTenant();
    const customers = new CustomerService(new CustomerRepo(pool), new CatalogService(new CatalogRepo(pool)));
    await customers.ensure(tenantId, 'u1', { email: 'same@example.com' });
    const second = await customers.ensure(tenantId, 'u2', { email: 'SAME@example.com' });
    expect(second.customer).toMatchObject({ id: 'u2', email: null });
  });

  it('upsert resolves by id, then by email, and reports a taken email as 409', async () => {
    const tenantId = await newTenant();
    const customers = new CustomerService(new CustomerRepo(pool), new CatalogService(new CatalogRepo(pool)));
    const a = await customers.upsert(tenantId, { id: 'a', email: 'a@example.com', name: 'Ann', metadata: { tier: 1 } });
    expect(a).toMatchObject({ id: 'a', email: 'a@example.com', name: 'Ann', metadata: { tier: 1 } });
    const renamed = await customers.upsert(tenantId, { id: 'a', email: 'a2@example.com' });
    expect(renamed).toMatchObject({ id: 'a', email: 'a2@example.com', name: 'Ann', metadata: { tier: 1 } });
    const byEmail = await customers.upsert(tenantId, { email: 'A2@example.com', name: 'Annie' });
    expect(byEmail).toMatchObject({ id: 'a', name: 'Annie' });
    const generated = await customers.upsert(tenantId, { email: 'new@example.com' });
    expect(generated.id).toMatch(/^cus_[0-9a-f]{32}$/);
    await expect(customers.upsert(tenantId, { id: generated.id, email: 'a2@example.com' })).rejects.toMatchObject({
      code: 'customer_email_taken',
      status: 409,
    });
  });

  it('a write in this process invalidates the cached context at once', async () => {
    const tenantId = await newTenant();
    const customers = new CustomerService(new CustomerRepo(pool), new CatalogService(new CatalogRepo(pool)), { ttlMs: 60_000 });
    await customers.ensure(tenantId, 'c', {});
    expect((await customers.context(tenantId, 'c'))?.customer.email).toBeNull();
    await customers.upsert(tenantId, { id: 'c', email: 'c@example.com' });
    expect((await customers.context(tenantId, 'c'))?.customer.email).toBe('c@example.com');
  });

  it('never returns another tenant’s customer', async () => {
    const [t1, t2] = [await newTenant(), await newTenant()];
    const customers = new CustomerService(new CustomerRepo(pool), new CatalogService(new CatalogRepo(pool)));
    await customers.ensure(t1, 'shared-id', { email: 'x@example.com' });
    expect(await customers.context(t2, 'shared-id')).toBeNull();
  });
});
