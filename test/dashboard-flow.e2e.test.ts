import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { apiUrl, client, eventually, newTenant } from './support/stack.ts';
import { UI_TIMEOUT, axeViolations, launchBrowser, screenshot } from './support/dashboard-browser.ts';

/**
 * The guide's whole flow in a real Chromium, through the dashboard served at /dashboard: sign in, create the
 * credit system "AI Credits" (gpt-4 at 20, dall-e at 50 credits), a plan granting it and the pack "500 AI Credits";
 * then a customer attached and usage tracked through the API: the customer page shows the balance fall and, after
 * the sandbox checkout, rise — without a reload. axe-core runs on every page; the main pages are photographed.
 */
describe('dashboard in the browser', () => {
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const cspViolations: string[] = [];
  const a11y: Record<string, string[]> = {};

  beforeAll(async () => {
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
  });

  async function open(nav: string, heading: string): Promise<void> {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: nav, exact: true }).click();
    await page.getByRole('heading', { level: 1, name: heading }).waitFor({ timeout: UI_TIMEOUT });
  }
  async function audit(name: string): Promise<void> {
    a11y[name] = await axeViolations(page);
  }
  async function saved(): Promise<void> {
    await page.getByRole('status').filter({ hasText: /^Saved: catalog version/ }).waitFor({ timeout: UI_TIMEOUT });
  }

  /** The usage explorer's CSV holds the flow's two events (ClickHouse may lag: asked again until both rows are in). */
  async function exportedUsage(customer: string, costs: Record<string, number>, day: string): Promise<void> {
    await page.getByLabel('Customers (comma-separated)').fill(customer);
    const rows = page.getByRole('table', { name: 'Usage rows' });
    await eventually(async () => {
      await page.getByRole('button', { name: 'Show usage' }).click();
      await rows.waitFor({ timeout: UI_TIMEOUT });
      return (await rows.getByRole('row').count()) === 1 + Object.keys(costs).length;
    }, UI_TIMEOUT, 1000);
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export CSV' }).click()]);
    const csv = readFileSync((await download.path())!, 'utf8').trim().split('\n');
    expect(csv[0]).toBe('bucket,feature,sumValue,sumCredits,count');
    expect(csv.slice(1).sort()).toEqual(Object.entries(costs).map(([feature, credits]) => `${day}T00:00:00.000Z,${feature},1,${credits},1`).sort());
  }

  it('runs the guide: catalog edits, live balance down with usage and up with a sandbox purchase', async () => {
    const tenant = await newTenant('dashboard-flow');
    const api = client(tenant.apiKey.secret);
    context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    page = await context.newPage();
    page.on('dialog', (d) => void d.accept());
    page.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text()); });
    // No CDN: everything the app loads comes from the API's own origin (it works offline).
    const foreign: string[] = [];
    page.on('request', (r) => { if (!/^(data|blob):/.test(r.url()) && !r.url().startsWith(`${apiUrl()}/`)) foreign.push(r.url()); });

    // Sign in: the key goes into the field labelled "API key"; the session is a cookie afterwards.
    await page.goto(`${apiUrl()}/dashboard`);
    await page.getByLabel('API key', { exact: true }).waitFor({ timeout: UI_TIMEOUT });
    await audit('sign-in');
    await screenshot(page, 'sign-in');
    await page.getByLabel('API key', { exact: true }).fill(tenant.apiKey.secret);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('navigation', { name: 'Main' }).waitFor({ timeout: UI_TIMEOUT });
    expect(page.url()).not.toContain(tenant.apiKey.secret);
    const cookies = await context.cookies();
    expect(cookies.find((c) => c.name === 'tally_session')?.httpOnly).toBe(true);
    expect(await page.evaluate(() => document.cookie)).not.toContain('tally_session');

    // Features the credit system will group.
    await open('Features', 'Features');
    for (const slug of ['gpt-4', 'dall-e']) {
      await page.getByLabel('Feature name', { exact: true }).fill(slug);
      await page.getByRole('button', { name: 'Create feature' }).click();
      await page.getByRole('status').filter({ hasText: `(features created ${slug})` }).waitFor({ timeout: UI_TIMEOUT });
    }
    await audit('features');

    // Credit Systems → "AI Credits": gpt-4 at 20, dall-e at 50.
    await open('Credit Systems', 'Credit Systems');
    await page.getByLabel('Name', { exact: true }).fill('AI Credits');
    await page.getByLabel('Member feature 1', { exact: true }).fill('gpt-4');
    await page.getByLabel('Credit cost 1', { exact: true }).fill('20');
    await page.getByRole('button', { name: 'Add member' }).click();
    await page.getByLabel('Member feature 2', { exact: true }).fill('dall-e');
    await page.getByLabel('Credit cost 2', { exact: true }).fill('50');
    await page.getByRole('button', { name: 'Create credit system' }).click();
    await saved();
    await page.getByRole('cell', { name: 'AI Credits', exact: true }).waitFor({ timeout: UI_TIMEOUT });
    await audit('credit-systems');
    await screenshot(page, 'credit-systems');
    const systems = (await api.get('/v1/credit-systems')).body.creditSystems;
    expect(systems).toEqual([expect.objectContaining({ slug: 'ai-credits', name: 'AI Credits', features: expect.arrayContaining([{ feature: 'gpt-4', creditCost: 20 }, { feature: 'dall-e', creditCost: 50 }]) })]);

    // Plans → "Pro", granting 100 AI Credits a month.
    const allowance = 100;
    await open('Plans', 'Plans');
    await page.getByLabel('Plan name', { exact: true }).fill('Pro');
    await page.getByLabel('Grant 1', { exact: true }).selectOption('ai-credits');
    await page.getByLabel('Limit 1', { exact: true }).fill(String(allowance));
    await page.getByRole('button', { name: 'Create plan' }).click();
    await saved();
    await page.getByRole('cell', { name: 'pro', exact: true }).waitFor({ timeout: UI_TIMEOUT });
    await audit('plans');
    await screenshot(page, 'plans');
    const plan = (await api.get('/v1/plans/pro')).body.plan;
    expect(plan.features).toEqual([expect.objectContaining({ slug: 'ai-credits', type: 'credit_system', limit: allowance, reset: 'monthly' })]);

    // Add-ons → Credit Packs → "500 AI Credits", with exactly the guide's fields.
    await open('Add-ons', 'Add-ons');
    await audit('add-ons');
    await page.getByRole('main').getByRole('link', { name: 'Credit Packs' }).click();
    await page.getByRole('heading', { level: 1, name: 'Credit Packs' }).waitFor({ timeout: UI_TIMEOUT });
    await page.getByLabel('Name', { exact: true }).fill('500 AI Credits');
    await page.getByLabel('Credits', { exact: true }).fill('500');
    await page.getByLabel('Price', { exact: true }).fill('1000');
    await page.getByLabel('Credit System', { exact: true }).selectOption({ label: 'AI Credits' });
    await page.getByLabel('Provider', { exact: true }).selectOption('sandbox');
    await page.getByRole('button', { name: 'Create credit pack' }).click();
    await saved();
    await page.getByRole('cell', { name: '500 AI Credits', exact: true }).waitFor({ timeout: UI_TIMEOUT });
    await audit('credit-packs');
    await screenshot(page, 'credit-packs');
    const packs = (await api.get('/v1/credit-packs')).body.creditPacks;
    expect(packs).toEqual([expect.objectContaining({ slug: '500-ai-credits', name: '500 AI Credits', credits: 500, price: 1000, creditSystem: 'ai-credits', provider: 'sandbox' })]);

    // A customer on the plan, through the API as an app would do it.
    const customer = `cust-${Date.now()}`;
    expect((await api.post('/v1/customers', { id: customer, email: `${customer}@example.com`, name: 'Ada Lovelace' })).status).toBe(200);
    expect((await api.post('/v1/attach', { customer, product: 'pro' })).status).toBe(200);

    await open('Customers', 'Customers');
    await page.getByLabel('Search customers').fill(customer);
    await page.getByRole('link', { name: customer, exact: true }).click();
    await page.getByRole('heading', { level: 1, name: `Customer ${customer}` }).waitFor({ timeout: UI_TIMEOUT });
    const balance = page.getByLabel('Balance of ai-credits');
    const shows = (n: number) => balance.filter({ hasText: new RegExp(`^${n.toLocaleString('en-US')}$`) }).waitFor({ timeout: UI_TIMEOUT });
    await shows(allowance);
    await page.getByText('live', { exact: true }).waitFor({ timeout: UI_TIMEOUT }); // the stream is open
    await page.evaluate(() => { (window as unknown as { notReloaded: boolean }).notReloaded = true; });

    // Usage tracked through the API (debited by the workers): the page follows without a reload.
    const costs = { 'gpt-4': 20, 'dall-e': 50 };
    const trackedDay = new Date().toISOString().slice(0, 10); // the usage explorer's day bucket (UTC)
    expect((await api.post('/v1/track', { customer, feature: 'gpt-4', value: 1 })).status).toBe(200);
    await shows(allowance - costs['gpt-4']);
    expect((await api.post('/v1/track', { customer, feature: 'dall-e', value: 1 })).status).toBe(200);
    const afterUsage = allowance - costs['gpt-4'] - costs['dall-e'];
    await shows(afterUsage);

    // The pack bought through the sandbox checkout, paid in another tab.
    const addon = await api.post('/v1/addon', { customer, pack: '500-ai-credits' });
    expect(addon.status).toBe(200);
    expect(addon.body.requiresCheckout).toBe(true);
    const checkout = await context.newPage();
    await checkout.goto(addon.body.checkoutUrl);
    await checkout.getByLabel('Card number').fill('4242 4242 4242 4242');
    await checkout.getByRole('button', { name: 'Pay' }).click();
    await checkout.waitForLoadState();
    await checkout.close();
    await shows(afterUsage + 500);
    expect(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
    await page.getByRole('cell', { name: '500-ai-credits', exact: true }).first().waitFor({ timeout: UI_TIMEOUT });
    await audit('customer');
    await screenshot(page, 'customer');

    // Every other page is reachable from the navigation and passes axe.
    for (const [nav, heading, shot] of [
      ['Customers', 'Customers', 'customers'], ['Purchases', 'Purchases', 'purchases'], ['Webhooks', 'Webhooks', null],
      ['Imports', 'Imports', null], ['Usage', 'Usage explorer', 'usage'], ['API keys', 'API keys', null],
    ] as const) {
      await open(nav, heading);
      if (nav === 'Purchases') await page.getByRole('cell', { name: customer }).first().waitFor({ timeout: UI_TIMEOUT });
      if (nav === 'Usage') await exportedUsage(customer, costs, trackedDay);
      await audit(nav);
      if (shot) await screenshot(page, shot);
    }

    // Sign out ends the session: the sign-in form again, and the session route refuses.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API key', { exact: true }).waitFor({ timeout: UI_TIMEOUT });
    expect((await page.request.get(`${apiUrl()}/dashboard/api/session`)).status()).toBe(401);

    expect(a11y).toEqual(Object.fromEntries(Object.keys(a11y).map((k) => [k, []])));
    expect(cspViolations).toEqual([]);
    expect(foreign).toEqual([]);
  }, 300_000);

  it('refuses a wrong key with a message and no session', async () => {
    const ctx = await browser.newContext();
    const p = await ctx.newPage();
    await p.goto(`${apiUrl()}/dashboard`);
    await p.getByLabel('API key', { exact: true }).fill('sk_test_not-a-real-key');
    await p.getByRole('button', { name: 'Sign in' }).click();
    await p.getByRole('alert').filter({ hasText: /API key/ }).waitFor({ timeout: UI_TIMEOUT });
    expect(await p.getByRole('navigation', { name: 'Main' }).count()).toBe(0);
    expect((await ctx.cookies()).some((c) => c.name === 'tally_session')).toBe(false);
    await ctx.close();
  }, 120_000);
  it("shows one tenant's session nothing of another tenant's customers", async () => {
    const [mine, theirs] = [await newTenant('dashboard-a'), await newTenant('dashboard-b')];
    const other = `b-only-${Date.now()}`;
    expect((await client(theirs.apiKey.secret).post('/v1/customers', { id: other, email: `${other}@example.com` })).status).toBe(200);
    const ctx = await browser.newContext();
    const p = await ctx.newPage();
    await p.goto(`${apiUrl()}/dashboard`);
    await p.getByLabel('API key', { exact: true }).fill(mine.apiKey.secret);
    await p.getByRole('button', { name: 'Sign in' }).click();
    await p.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Customers', exact: true }).click();
    const own = `a-only-${Date.now()}`;
    expect((await client(mine.apiKey.secret).post('/v1/customers', { id: own })).status).toBe(200);
    await p.getByLabel('Search customers').fill(own); // the search works: this tenant's own customer is found
    await p.getByRole('link', { name: own, exact: true }).waitFor({ timeout: UI_TIMEOUT });
    await p.getByLabel('Search customers').fill(other);
    await p.getByText('No customers match.').waitFor({ timeout: UI_TIMEOUT });
    // The other tenant's customer page, by URL: the API answers for this session's tenant only.
    await p.goto(`${apiUrl()}/dashboard/customers/${other}`);
    await p.getByRole('alert').first().waitFor({ timeout: UI_TIMEOUT });
    expect(await p.getByText(`${other}@example.com`).count()).toBe(0);
    expect((await p.request.get(`${apiUrl()}/v1/customers/${other}`)).status()).toBe(404);
    await ctx.close();
  }, 120_000);
});
