/**
 * Demo data for `npm start`: the tenant "Tally demo" (created once, found by
 * its organisation name afterwards), the catalog of examples/billing.config.ts
 * (the seed's AI credits, Pro and Free plans, the 500-credit pack), and a demo
 * customer on Pro. Prints a fresh API key each run.
 */
import { randomUUID } from 'node:crypto';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseConfig, sharedEnv } from '@tally/runtime';
import { loadApiConfig } from '../config.ts';
import { createPool, withTransaction } from '@tally/postgres';
import { CatalogRepo, CatalogService, CustomerRepo, CustomerService, TenantService } from '@tally/catalog';
import { buildSyncBody } from '@tally/sdk';
import { syncBodySchema } from '@tally/contracts';

const DEMO_ORG = 'Tally demo';
const DEMO_CUSTOMER = { id: 'demo-user', email: 'demo@example.com', name: 'Demo User' };

// The example config is a user-side file (it imports @tally/sdk like an app would), loaded at run time.
const EXAMPLE_CONFIG = fileURLToPath(new URL('../../../../examples/billing.config.ts', import.meta.url));
const billingConfig: unknown = await import(pathToFileURL(EXAMPLE_CONFIG).href);

const config = parseConfig(sharedEnv);
const pool = createPool(config.DATABASE_URL, 2);
try {
  const tenants = new TenantService(pool);
  const { rows } = await pool.query<{ tenant_id: string }>(
    `SELECT t.id AS tenant_id FROM organizations o JOIN tenants t ON t.organization_id = o.id
      WHERE o.name = $1 AND t.environment = 'test' ORDER BY o.created_at LIMIT 1`,
    [DEMO_ORG],
  );
  let tenantId = rows[0]?.tenant_id;
  let secret: string;
  if (tenantId) {
    secret = (await tenants.createKey(tenantId, `demo ${new Date().toISOString()}`)).secret;
  } else {
    const created = await tenants.createTenant(DEMO_ORG, 'test');
    tenantId = created.tenantId;
    secret = created.apiKey.secret;
  }

  const catalog = new CatalogService(new CatalogRepo(pool));
  const sync = await catalog.sync(tenantId, syncBodySchema.parse(buildSyncBody(billingConfig)));
  const customers = new CustomerService(new CustomerRepo(pool), catalog);
  await customers.upsert(tenantId, DEMO_CUSTOMER);

  // Pro is a paid plan; the demo puts its customer on it directly instead of through checkout.
  const pro = (await catalog.snapshot(tenantId)).plans.get('pro');
  if (!pro) throw new Error('examples/billing.config.ts has no "pro" plan');
  await withTransaction(pool, async (tx) => {
    const live = await tx.query(
      `SELECT 1 FROM subscriptions WHERE tenant_id = $1 AND customer_id = $2 AND plan_id = $3 AND status IN ('active', 'trialing')`,
      [tenantId, DEMO_CUSTOMER.id, pro.id],
    );
    if (live.rows.length) return;
    await tx.query(
      `UPDATE subscriptions SET status = 'canceled', canceled_at = now()
        WHERE tenant_id = $1 AND customer_id = $2 AND status IN ('active', 'trialing', 'pending')`,
      [tenantId, DEMO_CUSTOMER.id],
    );
    await tx.query(
      `INSERT INTO subscriptions (id, tenant_id, customer_id, plan_id, status, anchor_at) VALUES ($1, $2, $3, $4, 'active', now())`,
      [randomUUID(), tenantId, DEMO_CUSTOMER.id, pro.id],
    );
  });

  const changed = [sync.features, sync.creditSystems, sync.creditPacks, sync.plans].reduce((n, s) => n + s.created.length + s.updated.length, 0);
  console.log(`demo tenant   ${tenantId} ("${DEMO_ORG}", test)`);
  console.log(`catalog       version ${sync.version} (${changed ? `${changed} created/updated` : 'unchanged'})`);
  console.log(`customer      ${DEMO_CUSTOMER.id} on plan pro`);
  console.log(`api key       ${secret}`);
  console.log(`try           curl -s -H "Authorization: Bearer ${secret}" ${loadApiConfig().publicUrl}/v1/customers/${DEMO_CUSTOMER.id}`);
} finally {
  await pool.end();
}
