/**
 * Creates an organisation environment (tenant) and its first secret API key.
 *   npx tsx apps/api/src/cli/create-tenant.ts "Acme Inc" [test|live]
 * The secret is printed once; only its SHA-256 digest is stored.
 */
import { parseConfig, sharedEnv } from '@tally/runtime';
import { createPool } from '@tally/postgres';
import { TenantService } from '@tally/catalog';

const [name, environment = 'test'] = process.argv.slice(2);
if (!name || (environment !== 'test' && environment !== 'live')) {
  console.error('usage: create-tenant.ts <organisation name> [test|live]');
  process.exit(2);
}

const config = parseConfig(sharedEnv);
const pool = createPool(config.DATABASE_URL, 2);
try {
  const created = await new TenantService(pool).createTenant(name, environment);
  console.log(`organisation  ${created.organizationId}`);
  console.log(`tenant        ${created.tenantId} (${created.environment})`);
  console.log(`api key       ${created.apiKey.secret}`);
  console.log('              (shown once: store it now; only its hash is kept)');
} finally {
  await pool.end();
}
