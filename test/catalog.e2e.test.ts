import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { apiUrl, client, newTenant } from './support/stack.ts';
import { repoRoot } from './support/processes.ts';

const run = promisify(execFile);

/** Runs the real `tally` CLI (packages/sdk/bin/tally.mjs) against the running API. */
async function tally(args: string[], apiKey: string) {
  try {
    const { stdout, stderr } = await run(process.execPath, [path.join(repoRoot, 'packages/sdk/bin/tally.mjs'), ...args], {
      cwd: repoRoot,
      env: { ...process.env, TALLY_API_KEY: apiKey, TALLY_API_URL: apiUrl() },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('catalog as code with the tally CLI', () => {
  it('syncs the seed’s catalog from examples/billing.config.ts, and a second run reports everything unchanged', async () => {
    const { apiKey } = await newTenant('cli');
    const first = await tally(['sync', 'examples/billing.config.ts', '--json'], apiKey.secret);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const created = JSON.parse(first.stdout);
    expect(created.features.created.sort()).toEqual(['ai-tokens', 'dall-e', 'gpt-4']);
    expect(created.creditSystems.created).toEqual(['ai-credits']);
    expect(created.creditPacks.created).toEqual(['500-ai-credits']);
    expect(created.plans.created.sort()).toEqual(['free', 'pro']);

    const second = await tally(['sync', 'examples/billing.config.ts', '--json'], apiKey.secret);
    expect(second.code).toBe(0);
    const again = JSON.parse(second.stdout);
    for (const section of ['features', 'creditSystems', 'creditPacks', 'plans']) {
      expect(again[section].created, section).toEqual([]);
      expect(again[section].updated, section).toEqual([]);
      expect(again[section].removed, section).toEqual([]);
    }
    expect(again.features.unchanged).toHaveLength(3);
    expect(again.plans.unchanged).toHaveLength(2);
    expect(again.version).toBe(created.version);
    expect(again.warnings).toEqual([]);

    const text = await tally(['diff', 'examples/billing.config.ts'], apiKey.secret);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('dry run: nothing was changed');
    expect(text.stdout).toMatch(/plans\s+unchanged 2/);
  });

  it('diff is a dry run: it reports what sync would create and writes nothing', async () => {
    const { apiKey } = await newTenant('cli-diff');
    const diff = await tally(['diff', 'examples/billing.config.ts', '--json'], apiKey.secret);
    expect(diff.code).toBe(0);
    const report = JSON.parse(diff.stdout);
    expect(report.dryRun).toBe(true);
    expect(report.plans.created.sort()).toEqual(['free', 'pro']);
    const plans = await client(apiKey.secret).get('/v1/plans');
    expect(plans.body.plans).toEqual([]);
  });

  it('reports a server error with its code and exits non-zero', async () => {
    const res = await tally(['sync', 'examples/billing.config.ts'], 'sk_test_00000000000000000000000000000000');
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('unauthorized');
  });
});

describe('catalog routes', () => {
  it('serves the synced plans, credit systems and packs with exact amounts', async () => {
    const { apiKey } = await newTenant('catalog-read');
    expect((await tally(['sync', 'examples/billing.config.ts'], apiKey.secret)).code).toBe(0);
    const api = client(apiKey.secret);
    const pro = await api.get('/v1/plans/pro');
    expect(pro.status).toBe(200);
    expect(pro.body.plan).toMatchObject({ slug: 'pro', name: 'Pro', price: 2000, currency: 'USD', interval: 'monthly', trialDays: 0 });
    expect(pro.body.plan.features).toEqual(
      expect.arrayContaining([
        { slug: 'ai-tokens', type: 'feature', enabled: true, limit: 5000, trialLimit: null, reset: 'monthly', overage: 'block', creditCost: 1 },
        { slug: 'ai-credits', type: 'credit_system', enabled: true, limit: 5000, trialLimit: null, reset: 'monthly', overage: 'block', creditCost: null },
      ]),
    );
    const systems = await api.get('/v1/credit-systems');
    expect(systems.body.creditSystems).toEqual([
      expect.objectContaining({ slug: 'ai-credits', name: 'AI Credits', features: expect.arrayContaining([{ feature: 'gpt-4', creditCost: 20 }, { feature: 'dall-e', creditCost: 50 }]) }),
    ]);
    const packs = await api.get('/v1/credit-packs');
    expect(packs.body.creditPacks).toEqual([
      expect.objectContaining({ slug: '500-ai-credits', credits: 500, price: 1000, currency: 'USD', creditSystem: 'ai-credits', provider: 'sandbox' }),
    ]);
    const missing = await api.get('/v1/plans/enterprise');
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('plan_not_found');
  });

  it('an unknown reference is a 400 naming the slug, and nothing is half-written', async () => {
    const { apiKey } = await newTenant('catalog-bad');
    const api = client(apiKey.secret);
    const res = await api.post('/v1/sync', {
      features: [{ slug: 'gpt-4', type: 'metered', name: 'GPT-4' }],
      creditSystems: [{ slug: 'ai-credits', name: 'AI Credits', features: [{ feature: 'gpt-4', creditCost: 20 }] }],
      creditPacks: [{ slug: 'pack', name: 'Pack', credits: 10, price: 100, currency: 'USD', creditSystem: 'image-credits' }],
      plans: [],
    });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ success: false, error: { code: 'catalog_reference_error', slug: 'pack' } });
    expect(res.body.error.message).toContain('image-credits');
    expect((await api.get('/v1/credit-systems')).body.creditSystems).toEqual([]);
  });

  it('validation errors name the field path', async () => {
    const { apiKey } = await newTenant('catalog-validate');
    const res = await client(apiKey.secret).post('/v1/sync', { plans: [{ slug: 'p', name: 'P', price: -5, currency: 'USD', interval: 'monthly', features: [] }] });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('validation_error');
    expect(res.body.error.issues).toEqual(expect.arrayContaining([expect.objectContaining({ path: 'plans.0.price' })]));
  });

  it('the admin route is off when ADMIN_TOKEN is unset', async () => {
    const res = await client(null).post('/admin/tenants', { name: 'x' });
    expect(res.status).toBe(404);
  });
});

describe('attach', () => {
  it('a free plan applies at once; attaching it again changes nothing', async () => {
    const { apiKey } = await newTenant('attach-free');
    const api = client(apiKey.secret);
    expect((await tally(['sync', 'examples/billing.config.ts'], apiKey.secret)).code).toBe(0);
    const first = await api.post('/v1/attach', { customer: 'u-1', product: 'free', customerData: { email: 'u1@example.com', name: 'U One' } });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ success: true, requiresCheckout: false, subscription: { plan: 'free', status: 'active' } });
    const again = await api.post('/v1/attach', { customer: 'u-1', product: 'free' });
    expect(again.body.subscription.id).toBe(first.body.subscription.id);
    const customer = await api.get('/v1/customers/u-1');
    expect(customer.body).toMatchObject({ id: 'u-1', email: 'u1@example.com', name: 'U One', subscription: { plan: 'free', status: 'active' } });
    const start = Date.parse(customer.body.subscription.currentPeriodStart);
    const end = new Date(customer.body.subscription.currentPeriodEnd);
    expect(start).toBe(Date.parse(customer.body.subscription.anchorAt));
    const expectedEnd = new Date(start);
    expectedEnd.setUTCMonth(expectedEnd.getUTCMonth() + 1);
    if (expectedEnd.getUTCDate() !== new Date(start).getUTCDate()) expectedEnd.setUTCDate(0); // clamped to the month's last day
    expect(end.toISOString()).toBe(expectedEnd.toISOString());
  });

  it('a paid plan goes to checkout, or answers provider_not_configured when no plan checkout is wired', async () => {
    const { apiKey } = await newTenant('attach-paid');
    const api = client(apiKey.secret);
    expect((await tally(['sync', 'examples/billing.config.ts'], apiKey.secret)).code).toBe(0);
    const res = await api.post('/v1/attach', { customer: 'u-2', product: 'pro', callbackUrl: 'https://example.com/done' });
    if (res.status === 400) {
      expect(res.body.error.code).toBe('provider_not_configured');
    } else {
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ success: true, requiresCheckout: true, subscription: { plan: 'pro', status: 'pending' } });
      expect(res.body.checkoutUrl).toMatch(/^https?:\/\//);
      expect(typeof res.body.reference).toBe('string');
    }
    // Either way the customer has no live paid plan until payment.
    const customer = await api.get('/v1/customers/u-2');
    expect(customer.body.subscription?.plan ?? null).not.toBe('pro');
  });

  it('an unknown plan is 404 plan_not_found', async () => {
    const { apiKey } = await newTenant('attach-404');
    const res = await client(apiKey.secret).post('/v1/attach', { customer: 'u', product: 'nope' });
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('plan_not_found');
  });
});
