/**
 * Read and remove every writable setting: webhook endpoints, balance alerts,
 * auto top-up. Each GET answers what was written, each DELETE removes it (a
 * second DELETE or a GET after it is a 404), bad input is a 400 naming the
 * field, and another tenant sees none of it.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { billingTenant, db, newCustomer } from './billing.support.ts';

afterAll(async () => {
  await db.end();
});

describe('read and remove settings', () => {
  it('webhook endpoint: GET by id (no secret), DELETE, then 404; other tenant 404', { timeout: 60_000 }, async () => {
    const { api } = await billingTenant();
    const { api: other } = await billingTenant();
    const made = await api.post('/v1/webhooks/endpoints', { url: 'https://example.test/hook', events: ['balance.low'] });
    expect(made.status).toBe(201);
    const got = await api.get(`/v1/webhooks/endpoints/${made.body.id}`);
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({ success: true, id: made.body.id, url: 'https://example.test/hook', events: ['balance.low'] });
    expect(got.body.secret).toBeUndefined();
    expect((await other.get(`/v1/webhooks/endpoints/${made.body.id}`)).status).toBe(404);
    expect((await other.del(`/v1/webhooks/endpoints/${made.body.id}`)).status).toBe(404);
    expect((await api.del(`/v1/webhooks/endpoints/${made.body.id}`)).status).toBe(200);
    expect((await api.get(`/v1/webhooks/endpoints/${made.body.id}`)).status).toBe(404);
  });

  it('balance alert: GET answers the threshold, DELETE removes it, 404 after and for another tenant', { timeout: 60_000 }, async () => {
    const { api } = await billingTenant();
    const { api: other } = await billingTenant();
    expect((await api.get('/v1/webhooks/balance-alerts?creditSystem=ai-credits')).status).toBe(404);
    expect((await api.put('/v1/webhooks/balance-alerts', { creditSystem: 'ai-credits', lowBalance: 12.5 })).status).toBe(200);
    const got = await api.get('/v1/webhooks/balance-alerts?creditSystem=ai-credits');
    expect(got.body).toEqual({ success: true, creditSystem: 'ai-credits', lowBalance: 12.5 });
    expect((await other.get('/v1/webhooks/balance-alerts?creditSystem=ai-credits')).status).toBe(404);
    expect((await other.del('/v1/webhooks/balance-alerts?creditSystem=ai-credits')).status).toBe(404);
    expect((await api.get('/v1/webhooks/balance-alerts?creditSystem=ai-credits')).body.lowBalance).toBe(12.5);
    expect((await api.del('/v1/webhooks/balance-alerts?creditSystem=ai-credits')).status).toBe(200);
    expect((await api.get('/v1/webhooks/balance-alerts?creditSystem=ai-credits')).status).toBe(404);
    expect((await api.del('/v1/webhooks/balance-alerts?creditSystem=ai-credits')).status).toBe(404);
    const bad = await api.get('/v1/webhooks/balance-alerts');
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('creditSystem');
  });

  it('auto top-up: DELETE removes the setting, 404 after and for another tenant', { timeout: 60_000 }, async () => {
    const { api } = await billingTenant();
    const { api: other } = await billingTenant();
    const customer = await newCustomer(api);
    const q = `?customer=${customer}&creditSystem=ai-credits`;
    const set = await api.post('/v1/auto-topup', { customer, creditSystem: 'ai-credits', threshold: 50, pack: '500-ai-credits', quantity: 1 });
    expect(set.status).toBe(200);
    expect((await api.get(`/v1/auto-topup${q}`)).body).toMatchObject({ customer, threshold: 50, pack: '500-ai-credits' });
    expect((await other.del(`/v1/auto-topup${q}`)).status).toBe(404);
    expect((await api.get(`/v1/auto-topup${q}`)).status).toBe(200);
    expect((await api.del(`/v1/auto-topup${q}`)).status).toBe(200);
    expect((await api.get(`/v1/auto-topup${q}`)).status).toBe(404);
    expect((await api.del(`/v1/auto-topup${q}`)).status).toBe(404);
    const bad = await api.del(`/v1/auto-topup?creditSystem=ai-credits`);
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('customer');
  });
});
