import { describe, expect, it } from 'vitest';
import { apiUrl, eventually } from './support/stack.ts';
import { checkBalance, distinctEvents, event, meteringTenant, subscribedCustomer, usageTotals } from './metering-helpers.ts';

const DAY = 86_400_000;

describe('metering: ingest', () => {
  it('rejects bad events one by one and accepts the good ones of the same batch', async () => {
    const { api, tenantId } = await meteringTenant(1000);
    const customer = await subscribedCustomer(api);
    const good = [event(customer, 'gpt-4'), event(customer, 'dall-e', 2)];
    const bad = [
      { id: 'no-customer', feature: 'gpt-4', value: 1 },
      { ...event(customer, 'gpt-4', -1), id: 'negative' },
      { ...event(customer, 'gpt-4', 0.0000001), id: 'too-precise' },
      { ...event(customer, 'gpt-4', 1, { timestamp: Date.now() - 36 * DAY }), id: 'too-old' },
      { ...event(customer, 'gpt-4', 1, { timestamp: new Date(Date.now() + 10 * 60_000).toISOString() }), id: 'future' },
      { ...event(customer, 'imaginary'), id: 'unknown-feature' },
      { ...event(customer, 'gpt-4', 1, { properties: { blob: 'x'.repeat(9000) } }), id: 'fat-properties' },
    ];
    const res = await api.post('/v1/track/batch', { events: [good[0], ...bad, good[1]] });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ accepted: 2, rejected: 7, duplicates: 0 });
    const byId = Object.fromEntries(res.body.results.map((r: { id: string; status: string; error?: { code: string } }) => [r.id, r]));
    expect(res.body.results[0]).toMatchObject({ index: 0, status: 'accepted', id: good[0]!.id });
    expect(res.body.results[8]).toMatchObject({ index: 8, status: 'accepted', id: good[1]!.id });
    for (const id of ['no-customer', 'negative', 'too-precise', 'fat-properties']) expect(byId[id]).toMatchObject({ status: 'rejected', error: { code: 'invalid_event' } });
    expect(byId['too-old'].error.code).toBe('timestamp_out_of_range');
    expect(byId['future'].error.code).toBe('timestamp_out_of_range');
    expect(byId['unknown-feature'].error.code).toBe('feature_not_found');

    await eventually(async () => (await usageTotals(tenantId, customer)).events === 2);
    expect((await usageTotals(tenantId, customer)).plan).toBe(120);
  });

  it('takes NDJSON, rejecting a broken line on its own', async () => {
    const { api, tenant } = await meteringTenant(1000);
    const customer = await subscribedCustomer(api);
    const body = [JSON.stringify(event(customer, 'gpt-4')), '{not json', JSON.stringify(event(customer, 'gpt-4'))].join('\n') + '\n';
    const res = await fetch(`${apiUrl()}/v1/track/batch`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${tenant.apiKey.secret}`, 'Content-Type': 'application/x-ndjson' },
      body,
    });
    const json = (await res.json()) as { accepted: number; results: { status: string; error?: { code: string } }[] };
    expect(res.status).toBe(200);
    expect(json.results.map((r) => r.status)).toEqual(['accepted', 'rejected', 'accepted']);
    expect(json.results[1]!.error!.code).toBe('invalid_json');
  });

  it('refuses more than 10,000 events or 5 MB with 413', async () => {
    const { api } = await meteringTenant(10);
    const many = Array.from({ length: 10_001 }, (_, i) => ({ id: `e${i}`, customer: 'c', feature: 'gpt-4' }));
    expect((await api.post('/v1/track/batch', { events: many })).status).toBe(413);
    const huge = await api.post('/v1/track/batch', { events: [{ id: 'x', customer: 'c', feature: 'gpt-4', properties: { blob: 'x'.repeat(6 * 1024 * 1024) } }] });
    expect(huge.status).toBe(413);
  });

  it('applies an event id once: twice in one request, again later, or with another payload', async () => {
    const { api, tenantId } = await meteringTenant(1000);
    const customer = await subscribedCustomer(api);
    const e = event(customer, 'gpt-4');
    const first = await api.post('/v1/track/batch', { events: [e, e, event(customer, 'gpt-4')] });
    expect(first.body.results.map((r: { status: string }) => r.status)).toEqual(['accepted', 'duplicate', 'accepted']);
    await eventually(async () => (await checkBalance(api, customer)).usage === 40);

    const again = await api.post('/v1/track/batch', { events: [e] });
    expect(again.body.results[0].status).toBe('duplicate');
    const otherPayload = await api.post('/v1/track', { ...e, value: 5 });
    expect(otherPayload.status).toBe(200);
    expect(otherPayload.body.details.duplicate).toBe(true);
    const single = await api.post('/v1/track', e, { 'Idempotency-Key': 'ignored-when-id-given' });
    expect(single.body.details.duplicate).toBe(true);

    // another event afterwards proves the pipeline has caught up; the duplicates changed nothing
    await api.post('/v1/track/batch', { events: [event(customer, 'dall-e')] });
    await eventually(async () => (await checkBalance(api, customer)).usage === 90);
    await eventually(async () => (await usageTotals(tenantId, customer)).events === 3);
    expect(await distinctEvents(tenantId, customer)).toBe(3);
    expect((await usageTotals(tenantId, customer)).plan).toBe(90);
  });

  it('takes the id from Idempotency-Key for a single event', async () => {
    const { api } = await meteringTenant(1000);
    const customer = await subscribedCustomer(api);
    const a = await api.post('/v1/track', { customer, feature: 'gpt-4' }, { 'Idempotency-Key': `idem-${customer}` });
    expect(a.body.id).toBe(`idem-${customer}`);
    await eventually(async () => (await checkBalance(api, customer)).usage === 20);
    const b = await api.post('/v1/track', { customer, feature: 'gpt-4' }, { 'Idempotency-Key': `idem-${customer}` });
    expect(b.body.details.duplicate).toBe(true);
  });
});
