/** POST /v1/customers with `{ id }` alone (what Owostack's SDK sends); id or email required; an upsert without email keeps it. */
import { beforeAll, describe, expect, it } from 'vitest';
import { client, newTenant } from './support/stack.ts';

let api: ReturnType<typeof client>;

beforeAll(async () => {
  api = client((await newTenant('no-email')).apiKey.secret);
});

describe('POST /v1/customers without email', () => {
  it('creates a customer from an id alone, with a null email', async () => {
    const res = await api.post('/v1/customers', { id: 'only-id' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ success: true, id: 'only-id', email: null });
  });

  it('keeps the stored email when an update leaves it out', async () => {
    expect((await api.post('/v1/customers', { id: 'keeps', email: 'keeps@example.com' })).status).toBe(200);
    const res = await api.post('/v1/customers', { id: 'keeps', name: 'Renamed' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: 'keeps', email: 'keeps@example.com', name: 'Renamed' });
  });

  it('refuses a body with neither id nor email, naming id, and creates nothing', async () => {
    const res = await api.post('/v1/customers', { name: 'nobody' });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('validation_error');
    expect(res.body.error.issues.map((i: { path: string }) => i.path)).toContain('id');
    const list = await api.get('/v1/customers');
    expect(list.body.data.map((c: { name: string }) => c.name)).not.toContain('nobody');
  });

  it('another tenant cannot see the customer', async () => {
    const other = client((await newTenant('no-email-b')).apiKey.secret);
    expect((await other.get('/v1/customers/only-id')).status).toBe(404);
  });
});
