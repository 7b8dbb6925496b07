import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { apiUrl, client, eventually, newTenant } from './support/stack.ts';
import { UI_TIMEOUT, axeViolations, launchBrowser, screenshot } from './support/dashboard-browser.ts';

/**
 * The operator's other jobs in the browser: edit a credit system (the catalog version moves by one), archive a
 * pack, refund a purchase from the customer page (the balance follows live), a webhook endpoint's delivery log and
 * redelivery, an import uploaded with progress (rejected rows, revert), and an API key created (shown once) and
 * revoked. Every outcome is checked through /v1 or the webhook receiver, not through the page alone.
 */
describe('dashboard operations in the browser', () => {
  let browser: Browser;
  let receiver: Server;
  const received: { type: string; id: string }[] = [];

  beforeAll(async () => {
    browser = await launchBrowser();
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        try {
          const event = JSON.parse(body) as { id: string; type: string };
          received.push({ type: event.type, id: event.id });
        } catch {
          received.push({ type: 'unparsable', id: '' });
        }
        res.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  });
  afterAll(async () => {
    await browser?.close();
    await new Promise((r) => receiver?.close(r));
  });

  it('edits, archives, refunds, redelivers, imports and manages keys', async () => {
    const tenant = await newTenant('dashboard-ops');
    const api = client(tenant.apiKey.secret);
    const allowance = 100;
    const packCredits = 500;
    const sync = await api.post('/v1/sync', {
      features: [{ slug: 'gpt-4', type: 'metered' }],
      creditSystems: [{ slug: 'ai-credits', name: 'AI Credits', features: [{ feature: 'gpt-4', creditCost: 20 }] }],
      creditPacks: [
        { slug: 'p500', name: '500 credits', credits: packCredits, price: 1000, currency: 'USD', creditSystem: 'ai-credits', provider: 'sandbox' },
        { slug: 'p100', name: '100 credits', credits: 100, price: 300, currency: 'USD', creditSystem: 'ai-credits', provider: 'sandbox' },
      ],
      plans: [
        { slug: 'pro', name: 'Pro', price: 0, currency: 'USD', interval: 'monthly', features: [{ slug: 'ai-credits', limit: allowance, reset: 'monthly' }] },
        // fields the plan form does not show: an edit in the dashboard must resend them as they are
        { slug: 'team', name: 'Team', price: 0, currency: 'USD', interval: 'monthly', billingType: 'licensed', trialDays: 14, metadata: { tier: 'gold' },
          features: [{ slug: 'ai-credits', limit: 1000, trialLimit: 50, reset: 'monthly' }] },
      ],
    });
    expect(sync.status, JSON.stringify(sync.body)).toBe(200);
    const customer = `ops-${Date.now()}`;
    expect((await api.post('/v1/attach', { customer, product: 'pro' })).status).toBe(200);

    const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    const page: Page = await context.newPage();
    page.on('dialog', (d) => void d.accept());
    const a11y: Record<string, string[]> = {};
    const open = async (nav: string, heading: string) => {
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: nav, exact: true }).click();
      await page.getByRole('heading', { level: 1, name: heading }).waitFor({ timeout: UI_TIMEOUT });
    };

    // A purchase to refund later, paid through the sandbox checkout.
    const addon = await api.post('/v1/addon', { customer, pack: 'p500' });
    expect(addon.body.requiresCheckout).toBe(true);
    await page.goto(addon.body.checkoutUrl);
    await page.getByLabel('Card number').fill('4242 4242 4242 4242');
    await page.getByRole('button', { name: 'Pay' }).click();
    await eventually(async () => (await api.get(`/v1/purchases/${addon.body.reference}`)).body.status === 'completed', 60_000, 250);

    await page.goto(`${apiUrl()}/dashboard`);
    await page.getByLabel('API key', { exact: true }).fill(tenant.apiKey.secret);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('navigation', { name: 'Main' }).waitFor({ timeout: UI_TIMEOUT });

    // Edit a credit system: one sync, one version more.
    await open('Credit Systems', 'Credit Systems');
    await page.getByRole('button', { name: 'Edit AI Credits' }).click();
    await page.getByLabel('Credit cost 1', { exact: true }).fill('25');
    await page.getByRole('button', { name: 'Save credit system' }).click();
    await page.getByRole('status').filter({ hasText: `Saved: catalog version ${sync.body.version + 1} (credit systems updated ai-credits)` }).waitFor({ timeout: UI_TIMEOUT });
    expect((await api.get('/v1/credit-systems')).body.creditSystems[0].features).toEqual([{ feature: 'gpt-4', creditCost: 25 }]);

    // Archive the pack nobody bought: no longer listed; the other stays.
    await open('Credit Packs', 'Credit Packs');
    await page.getByRole('button', { name: 'Archive 100 credits' }).click();
    await page.getByRole('status').filter({ hasText: '(credit packs removed p100)' }).waitFor({ timeout: UI_TIMEOUT });
    expect((await api.get('/v1/credit-packs')).body.creditPacks.map((p: { slug: string }) => p.slug)).toEqual(['p500']);

    // A webhook endpoint (its secret shown once), then the refund it hears about.
    const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    await open('Webhooks', 'Webhooks');
    await page.getByLabel('Endpoint URL').fill(hook);
    await page.getByRole('button', { name: 'Add endpoint' }).click();
    await page.getByRole('status').filter({ hasText: 'signing secret, shown once' }).waitFor({ timeout: UI_TIMEOUT });
    a11y.webhooks = await axeViolations(page);

    await open('Customers', 'Customers');
    await page.getByRole('link', { name: customer, exact: true }).click();
    const balance = page.getByLabel('Balance of ai-credits');
    const shows = (n: number) => balance.filter({ hasText: new RegExp(`^${n.toLocaleString('en-US')}$`) }).waitFor({ timeout: UI_TIMEOUT });
    await shows(allowance + packCredits);
    await page.getByText('live', { exact: true }).waitFor({ timeout: UI_TIMEOUT });
    await page.getByRole('button', { name: `Refund purchase ${addon.body.reference}` }).click();
    await shows(allowance); // the unspent pack taken back, the plan allowance untouched
    expect((await api.get(`/v1/purchases/${addon.body.reference}`)).body.status).toBe('refunded');

    // The delivery log shows the refund's webhook; Redeliver sends the same event again.
    await eventually(async () => received.some((r) => r.type === 'refund.completed'), 60_000, 250);
    await open('Webhooks', 'Webhooks');
    await page.getByRole('button', { name: `Deliveries of ${hook}` }).click();
    const deliveries = page.getByRole('table', { name: 'Deliveries' });
    await deliveries.getByRole('cell', { name: 'refund.completed', exact: true }).waitFor({ timeout: UI_TIMEOUT });
    await deliveries.getByRole('button', { name: /^Redeliver / }).first().click();
    const refunds = await eventually(async () => {
      const r = received.filter((x) => x.type === 'refund.completed');
      return r.length >= 2 && r;
    }, 60_000, 250);
    expect(new Set(refunds.map((r) => r.id)).size).toBe(1);
    await screenshot(page, 'webhooks');

    // An import: 2 good rows and a broken one; progress shown, the broken row listed with its line, then reverted.
    const at = new Date(Date.now() - 3_600_000).toISOString();
    const lines = [
      JSON.stringify({ id: `${customer}-i1`, customer, feature: 'gpt-4', value: 1, timestamp: at }),
      JSON.stringify({ id: `${customer}-i2`, customer, feature: 'gpt-4', value: 2, timestamp: at }),
      '{"customer":',
    ];
    await open('Imports', 'Imports');
    await page.getByLabel('Usage file').setInputFiles({ name: 'usage.ndjson', mimeType: 'application/x-ndjson', buffer: Buffer.from(lines.join('\n') + '\n') });
    await page.getByLabel('Mode').selectOption('report');
    await page.getByRole('button', { name: 'Upload' }).click();
    await page.getByLabel('Upload progress').waitFor({ timeout: UI_TIMEOUT });
    await page.getByRole('cell', { name: `${lines.length} read, 2 accepted, 0 duplicates, 1 rejected` }).waitFor({ timeout: UI_TIMEOUT });
    const importsTable = page.getByRole('table', { name: 'Imports' });
    await importsTable.getByRole('cell', { name: /^completed/ }).waitFor({ timeout: UI_TIMEOUT });
    await page.getByRole('button', { name: /^Rejected rows of import / }).click();
    await page.getByRole('table', { name: 'Rejected rows' }).getByRole('cell', { name: String(lines.length), exact: true }).waitFor({ timeout: UI_TIMEOUT });
    await screenshot(page, 'imports');
    a11y.imports = await axeViolations(page);
    const imported = (await api.get('/v1/imports')).body.data[0];
    expect(imported).toMatchObject({ rowsRead: 3, accepted: 2, rejected: 1, state: 'completed' });
    await page.getByRole('button', { name: `Revert import ${imported.id}` }).click();
    await importsTable.getByRole('cell', { name: /^reverted/ }).waitFor({ timeout: UI_TIMEOUT });
    expect((await api.get(`/v1/imports/${imported.id}`)).body.state).toBe('reverted');

    // An API key: the secret shown once works; revoked from the page, it no longer does.
    await open('API keys', 'API keys');
    await page.getByLabel('Key name').fill('ci key');
    await page.getByRole('button', { name: 'Create key' }).click();
    const secret = (await page.getByLabel('New secret key').textContent({ timeout: UI_TIMEOUT })) ?? '';
    expect(secret).toMatch(/^sk_test_/);
    expect((await client(secret).get('/v1/plans')).status).toBe(200);
    await screenshot(page, 'api-keys');
    a11y['api-keys'] = await axeViolations(page);
    await page.getByRole('button', { name: /^Revoke ci key/ }).click();
    await page.getByRole('cell', { name: /^revoked/ }).waitFor({ timeout: UI_TIMEOUT });
    expect((await client(secret).get('/v1/plans')).status).toBe(401);

    // A plan edit changes the limit and keeps what the form does not show (catalog read back through /v1/catalog).
    await open('Plans', 'Plans');
    await page.getByRole('button', { name: 'Edit Team' }).click();
    await page.getByLabel('Limit 1', { exact: true }).fill('1500');
    await page.getByRole('button', { name: 'Save plan' }).click();
    await page.getByRole('status').filter({ hasText: '(plans updated team)' }).waitFor({ timeout: UI_TIMEOUT });
    const team = (await api.get('/v1/catalog')).body.catalog.plans.find((p: { slug: string }) => p.slug === 'team');
    expect(team).toMatchObject({ billingType: 'licensed', trialDays: 14, metadata: { tier: 'gold' }, features: [{ slug: 'ai-credits', limit: 1500, trialLimit: 50 }] });

    expect(a11y).toEqual({ webhooks: [], imports: [], 'api-keys': [] });
    await context.close();
  }, 300_000);
});
