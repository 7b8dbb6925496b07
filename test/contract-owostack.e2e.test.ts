/**
 * Owostack compatibility: the requests Owostack's SDK sends for sync,
 * customers and attach, as raw HTTP, and every documented field of the
 * answers (API.md). An app built on Owostack's SDK points its apiUrl here.
 */
import { describe, expect, it } from 'vitest';
import { client, newTenant } from './support/stack.ts';

const isoDate = expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/);
const section = (s: unknown) =>
  expect(s).toEqual({ created: expect.any(Array), updated: expect.any(Array), unchanged: expect.any(Array), removed: expect.any(Array) });

/** The body Owostack's SDK builds from the guide's config (metered, creditSystem, plan, creditPack). */
const owostackSync = {
  defaultProvider: 'sandbox',
  features: [
    { slug: 'ai-tokens', type: 'metered', name: 'AI Tokens', meterType: 'consumable' },
    { slug: 'gpt-4', type: 'metered', name: 'gpt-4' },
    { slug: 'dall-e', type: 'metered', name: 'dall-e' },
    { slug: 'sso', type: 'boolean', name: 'SSO' },
  ],
  creditSystems: [
    { slug: 'ai-credits', name: 'AI Credits', description: 'Shared AI balance', features: [{ feature: 'gpt-4', creditCost: 20 }, { feature: 'dall-e', creditCost: 50 }, { feature: 'ai-tokens', creditCost: 1 }] },
  ],
  creditPacks: [
    { slug: '500-ai-credits', name: '500 AI Credits', description: 'Top-up', credits: 500, price: 1000, currency: 'USD', creditSystem: 'ai-credits', provider: 'sandbox', metadata: { tier: 'small' } },
  ],
  plans: [
    {
      slug: 'pro', name: 'Pro', description: 'For teams', price: 2000, currency: 'USD', interval: 'monthly', billingType: 'licensed',
      planGroup: 'main', trialDays: 0, provider: 'sandbox', metadata: { highlight: true }, autoEnable: false, isAddon: false,
      features: [
        { slug: 'ai-tokens', enabled: true, limit: 5000, reset: 'monthly', overage: 'block', creditCost: 1 },
        { slug: 'ai-credits', enabled: true, limit: 5000, reset: 'monthly', overage: 'block' },
        { slug: 'sso', enabled: true },
      ],
    },
    { slug: 'starter', name: 'Starter', price: 0, currency: 'USD', interval: 'monthly', planGroup: 'main', features: [{ slug: 'ai-credits', enabled: true, limit: 100, trialLimit: 10, reset: 'monthly', overage: 'charge' }] },
  ],
};

describe('Owostack contract: POST /v1/sync', () => {
  it('answers { success, features, creditSystems, creditPacks, plans, warnings } with created/updated/unchanged per slug', async () => {
    const api = client((await newTenant('owo-sync')).apiKey.secret);
    const res = await api.post('/v1/sync', owostackSync);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toBeTruthy();
    expect(res.body.success).toBe(true);
    for (const key of ['features', 'creditSystems', 'creditPacks', 'plans']) section(res.body[key]);
    expect(res.body.features.created).toEqual(['ai-tokens', 'gpt-4', 'dall-e', 'sso']);
    expect(res.body.creditSystems.created).toEqual(['ai-credits']);
    expect(res.body.creditPacks.created).toEqual(['500-ai-credits']);
    expect(res.body.plans.created).toEqual(['pro', 'starter']);
    expect(res.body.warnings).toEqual([]);

    const same = await api.post('/v1/sync', owostackSync);
    expect(same.body.features.unchanged).toEqual(['ai-tokens', 'gpt-4', 'dall-e', 'sso']);
    expect(same.body.plans.unchanged).toEqual(['pro', 'starter']);
    expect(same.body.creditPacks.unchanged).toEqual(['500-ai-credits']);

    const changed = structuredClone(owostackSync);
    changed.plans[0]!.price = 2500;
    changed.creditPacks[0]!.name = '500 credits';
    const updated = await api.post('/v1/sync', changed);
    expect(updated.body.plans).toMatchObject({ updated: ['pro'], unchanged: ['starter'] });
    expect(updated.body.creditPacks.updated).toEqual(['500-ai-credits']);
    expect(updated.body.features.unchanged).toHaveLength(4);
  });

  it('rejects a malformed body with the validation_error envelope', async () => {
    const api = client((await newTenant('owo-sync-bad')).apiKey.secret);
    const res = await api.post('/v1/sync', { features: [{ slug: 'x', type: 'counter' }] });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      success: false,
      error: { code: 'validation_error', message: expect.any(String), issues: [expect.objectContaining({ path: 'features.0.type', message: expect.any(String) })] },
    });
  });
});

describe('Owostack contract: customers', () => {
  it('POST /v1/customers upserts and answers { id, email, name, metadata, createdAt, updatedAt }', async () => {
    const api = client((await newTenant('owo-customers')).apiKey.secret);
    const created = await api.post('/v1/customers', { id: 'user_123', email: 'user@example.com', name: 'User', metadata: { plan: 'beta' } });
    expect(created.status).toBe(200);
    expect(created.body).toEqual({
      success: true, id: 'user_123', email: 'user@example.com', name: 'User', metadata: { plan: 'beta' }, createdAt: isoDate, updatedAt: isoDate,
    });
    const byEmail = await api.post('/v1/customers', { email: 'USER@example.com', name: 'Renamed' });
    expect(byEmail.body).toMatchObject({ id: 'user_123', name: 'Renamed', metadata: { plan: 'beta' } });
    const generated = await api.post('/v1/customers', { email: 'other@example.com' });
    expect(generated.body.id).toMatch(/^cus_/);
  });

  it('GET /v1/customers/:id answers the customer with its subscription, or 404 customer_not_found', async () => {
    const api = client((await newTenant('owo-customer-get')).apiKey.secret);
    await api.post('/v1/sync', owostackSync);
    await api.post('/v1/customers', { id: 'user_1', email: 'u1@example.com' });
    const none = await api.get('/v1/customers/user_1');
    expect(none.body).toEqual({
      success: true, id: 'user_1', email: 'u1@example.com', name: null, metadata: {}, createdAt: isoDate, updatedAt: isoDate, subscription: null,
    });
    await api.post('/v1/attach', { customer: 'user_1', product: 'starter' });
    const subscribed = await api.get('/v1/customers/user_1');
    expect(subscribed.body.subscription).toEqual({
      id: expect.any(String), plan: 'starter', status: 'active', anchorAt: isoDate, trialEndsAt: null, currentPeriodStart: isoDate, currentPeriodEnd: isoDate,
    });
    const missing = await api.get('/v1/customers/ghost');
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ success: false, error: { code: 'customer_not_found', message: expect.any(String) } });
  });
});

describe('Owostack contract: POST /v1/attach', () => {
  it('a free plan: { success, requiresCheckout: false, subscription, message }, creating the customer from customerData', async () => {
    const api = client((await newTenant('owo-attach')).apiKey.secret);
    await api.post('/v1/sync', owostackSync);
    const res = await api.post('/v1/attach', {
      customer: 'user_9', product: 'starter', customerData: { email: 'nine@example.com', name: 'Nine' }, metadata: { source: 'signup' },
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      success: true,
      requiresCheckout: false,
      subscription: {
        id: expect.any(String), plan: 'starter', status: 'active', anchorAt: isoDate, trialEndsAt: null, currentPeriodStart: isoDate, currentPeriodEnd: isoDate,
      },
      message: expect.any(String),
    });
    expect((await api.get('/v1/customers/user_9')).body).toMatchObject({ email: 'nine@example.com', name: 'Nine' });
  });

  it('a paid plan: requiresCheckout with checkoutUrl and reference, or a clear provider_not_configured', async () => {
    const api = client((await newTenant('owo-attach-paid')).apiKey.secret);
    await api.post('/v1/sync', owostackSync);
    const res = await api.post('/v1/attach', { customer: 'user_8', product: 'pro', currency: 'USD', callbackUrl: 'https://app.example.com/billing' });
    if (res.status === 200) {
      expect(res.body).toMatchObject({ success: true, requiresCheckout: true, checkoutUrl: expect.any(String), reference: expect.any(String) });
    } else {
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ success: false, error: { code: 'provider_not_configured', message: expect.stringContaining('pro') } });
    }
  });
});

describe('Owostack contract: check, track and addon on the guide’s catalog', () => {
  const nullableNumber = (v: unknown) => v === null || typeof v === 'number';
  const nullableString = (v: unknown) => v === null || typeof v === 'string';

  it('track answers { success, code: "tracked", id, usage, limit, balance, resetsAt, resetInterval, credits, details }', async () => {
    const api = client((await newTenant('owo-track')).apiKey.secret);
    await api.post('/v1/sync', owostackSync);
    await api.post('/v1/attach', { customer: 'user_t', product: 'starter', customerData: { email: 't@example.com' } });
    const res = await api.post('/v1/track', { customer: 'user_t', feature: 'gpt-4', value: 1, id: 'evt-owo-1' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ success: true, code: 'tracked', id: 'evt-owo-1' });
    for (const key of ['usage', 'limit', 'balance']) expect(nullableNumber(res.body[key]), key).toBe(true);
    expect(nullableString(res.body.resetsAt)).toBe(true);
    expect(nullableString(res.body.resetInterval)).toBe(true);
    expect(typeof res.body.details.message).toBe('string');
    expect(res.body.credits).toMatchObject({ source: 'credit_system', systemSlug: 'ai-credits', costPerUnit: 20 });
  });

  it('check answers { allowed, code, usage, limit, balance, resetsAt, resetInterval, credits, details }', async () => {
    const api = client((await newTenant('owo-check')).apiKey.secret);
    await api.post('/v1/sync', owostackSync);
    await api.post('/v1/attach', { customer: 'user_c', product: 'starter', customerData: { email: 'c@example.com' } });
    const res = await api.post('/v1/check', { customer: 'user_c', feature: 'gpt-4' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ allowed: true, code: 'access_granted', limit: expect.any(Number), balance: expect.any(Number) });
    expect(nullableNumber(res.body.usage)).toBe(true);
    expect(res.body.resetInterval).toBe('monthly');
    expect(res.body.resetsAt).toEqual(isoDate);
    expect(res.body.credits).toEqual({
      source: 'credit_system',
      systemSlug: 'ai-credits',
      costPerUnit: 20,
      addonBalance: expect.any(Number),
      plan: { used: expect.any(Number), limit: 100, balance: expect.any(Number), resetsAt: isoDate },
    });
    expect(typeof res.body.details.message).toBe('string');
    // an unknown customer is created on first use (as by track, attach and addon); it has no plan yet
    const unknown = await api.post('/v1/check', { customer: 'nobody', feature: 'gpt-4' });
    expect(unknown.status).toBe(200);
    expect(unknown.body).toMatchObject({ allowed: false, code: 'no_active_subscription' });
  });

  it('addon answers { success, requiresCheckout, checkoutUrl, reference } for a customer without a card', async () => {
    const api = client((await newTenant('owo-addon')).apiKey.secret);
    await api.post('/v1/sync', owostackSync);
    await api.post('/v1/customers', { id: 'user_a', email: 'a@example.com' });
    const res = await api.post('/v1/addon', { customer: 'user_a', pack: '500-ai-credits', quantity: 3 });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ success: true, requiresCheckout: true, checkoutUrl: expect.stringMatching(/^https?:\/\//), reference: expect.any(String) });
  });
});
