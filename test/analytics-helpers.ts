import { expect } from 'vitest';
import { apiUrl, client, eventually, newTenant } from './support/stack.ts';

export const DAY_MS = 86_400_000;
/** Midnight UTC of today, so every test's events fall in this month when the day is not the 1st… */
export const todayStart = () => Math.floor(Date.now() / DAY_MS) * DAY_MS;

/** A fresh tenant with the catalog imports check against: gpt4 (20 credits/unit) and dalle (50) in ai-credits, customers c1 and c2. */
export async function analyticsTenant() {
  const tenant = await newTenant('analytics');
  const api = client(tenant.apiKey.secret);
  const sync = await api.post('/v1/sync', {
    features: [
      { slug: 'gpt4', type: 'metered', name: 'GPT-4' },
      { slug: 'dalle', type: 'metered', name: 'DALL-E' },
    ],
    creditSystems: [{ slug: 'ai-credits', name: 'AI credits', features: [{ feature: 'gpt4', creditCost: 20 }, { feature: 'dalle', creditCost: 50 }] }],
    creditPacks: [],
    plans: [],
  });
  expect(sync.status, JSON.stringify(sync.body)).toBe(200);
  for (const id of ['c1', 'c2']) {
    const res = await api.post('/v1/customers', { id, email: `${id}@example.com` });
    expect(res.status, JSON.stringify(res.body)).toBeLessThan(300);
  }
  return { tenant, api, secret: tenant.apiKey.secret };
}

/** Uploads a file body to POST /v1/imports as a stream would (any Content-Type the API accepts). */
export async function upload(secret: string, body: string | Uint8Array, query = '', headers: Record<string, string> = {}) {
  const res = await fetch(`${apiUrl()}/v1/imports${query}`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${secret}`, 'Content-Type': 'application/x-ndjson', ...headers },
    body,
  });
  return { status: res.status, body: (await res.json()) as any };
}

export async function waitFor(api: ReturnType<typeof client>, id: string, states: string[], timeoutMs = 60_000) {
  return eventually(async () => {
    const res = await api.get(`/v1/imports/${id}`);
    if (res.status !== 200) throw new Error(`GET import: ${res.status}`);
    if (res.body.state === 'failed') throw new Error(`import failed: ${res.body.error}`);
    return states.includes(res.body.state) ? res.body : undefined;
  }, timeoutMs, 200);
}

export const ndjson = (rows: (Record<string, unknown> | string)[]) => rows.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n') + '\n';
