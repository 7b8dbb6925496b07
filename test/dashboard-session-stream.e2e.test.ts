/**
 * GET /v1/customers/:id/balance-stream: a debit applied by the workers (async track), a debit on
 * another API process (the check path) and a purchased grant each reach an open stream as a
 * `balance` event, whatever process made the change; the stream is tenant-scoped, needs a session
 * or a key, pings every 15 s and ends at the first ping after its session was signed out.
 * Expected balances are computed here from the catalog (starter plan: 100 credits; gpt-4: 20 a call;
 * the pack: 500 credits).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startApp, type AppProcess } from './support/processes.ts';
import { apiUrl, client } from './support/stack.ts';
import { billingTenant, buyNow, newCustomer, saveCard } from './billing.support.ts';
import { signIn } from './dashboard-session.support.ts';

const PLAN_CREDITS = 100;
const GPT4_COST = 20;
const PACK_CREDITS = 500;

interface Stream {
  status: number;
  contentType: string | null;
  events: { event: string; data: any }[];
  comments: string[];
  ended: Promise<void>;
  /** Resolves with the first event matching, waiting up to `ms`. */
  next(pred: (e: { event: string; data: any }) => boolean, ms?: number): Promise<{ event: string; data: any }>;
  close(): void;
}

/** An EventSource as a test can hold it: fetch with the credentials given, the text parsed as SSE. */
async function openStream(base: string, customer: string, headers: Record<string, string>): Promise<Stream> {
  const abort = new AbortController();
  const res = await fetch(`${base}/v1/customers/${encodeURIComponent(customer)}/balance-stream`, { headers: { Accept: 'text/event-stream', ...headers }, signal: abort.signal });
  const events: Stream['events'] = [];
  const comments: string[] = [];
  const waiters = new Set<() => void>();
  let resolveEnded!: () => void;
  const ended = new Promise<void>((r) => (resolveEnded = r));
  if (res.ok && res.body) {
    void (async () => {
      const decoder = new TextDecoder();
      let buffer = '';
      try {
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          buffer += decoder.decode(chunk, { stream: true });
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            let event = 'message';
            let data = '';
            for (const line of block.split('\n')) {
              if (line.startsWith(':')) comments.push(line.slice(1).trim());
              else if (line.startsWith('event: ')) event = line.slice(7);
              else if (line.startsWith('data: ')) data += line.slice(6);
            }
            if (data) events.push({ event, data: JSON.parse(data) });
            for (const w of waiters) w();
          }
        }
      } catch {
        // aborted
      }
      resolveEnded();
    })();
  } else {
    await res.text();
    resolveEnded();
  }
  return {
    status: res.status,
    contentType: res.headers.get('content-type'),
    events,
    comments,
    ended,
    async next(pred, ms = 30_000) {
      const deadline = Date.now() + ms;
      for (;;) {
        const found = events.find(pred);
        if (found) return found;
        if (Date.now() > deadline) throw new Error(`no matching event within ${ms} ms; got ${JSON.stringify(events)}`);
        await new Promise<void>((r) => {
          const t = setTimeout(r, 250);
          waiters.add(() => {
            clearTimeout(t);
            r();
          });
        });
        waiters.clear();
      }
    },
    close: () => abort.abort(),
  };
}

const isBalance = (customer: string, balance: number) => (e: { event: string; data: any }) =>
  e.event === 'balance' && e.data.customer === customer && e.data.creditSystem === 'ai-credits' && e.data.balance === balance;

let second: AppProcess;
beforeAll(async () => {
  second = await startApp('api', inject('stackEnv'));
}, 90_000);
afterAll(() => second?.stop());

describe('balance stream', () => {
  it('hears debits made by the workers and by another API process, and a purchased grant', { timeout: 120_000 }, async () => {
    const { api, secret } = await billingTenant();
    const customer = await newCustomer(api);
    const s = await signIn(secret);
    // one stream by session on the suite's API, one by key on a second API process
    const bySession = await openStream(apiUrl(), customer, { Cookie: s.cookie });
    const byKey = await openStream(second.url, customer, { Authorization: `Bearer ${secret}` });
    for (const stream of [bySession, byKey]) {
      expect(stream.status).toBe(200);
      expect(stream.contentType).toMatch(/^text\/event-stream/);
    }
    await new Promise((r) => setTimeout(r, 300)); // both subscribed (the answer's headers leave as it subscribes)

    // async track: Kafka → the workers process debits and signals
    const tracked = await api.post('/v1/track', { id: `evt_${randomUUID()}`, customer, feature: 'gpt-4', value: 2 });
    expect(tracked.status, JSON.stringify(tracked.body)).toBeLessThan(300);
    const afterTrack = PLAN_CREDITS - 2 * GPT4_COST;
    await bySession.next(isBalance(customer, afterTrack));
    await byKey.next(isBalance(customer, afterTrack));

    // the check path debits in the suite's API process; the second API's stream hears it too
    const checked = await api.post('/v1/check', { customer, feature: 'gpt-4', value: 1, sendEvent: true });
    expect(checked.status, JSON.stringify(checked.body)).toBe(200);
    const afterCheck = afterTrack - GPT4_COST;
    await byKey.next(isBalance(customer, afterCheck));
    await bySession.next(isBalance(customer, afterCheck));

    // a purchased pack's grant raises it
    await saveCard(api, customer);
    const bought = await buyNow(api, { customer, pack: '500-ai-credits' });
    expect(bought.status, JSON.stringify(bought.body)).toBe(200);
    const afterPack = afterCheck + PACK_CREDITS;
    await bySession.next(isBalance(customer, afterPack));
    await byKey.next(isBalance(customer, afterPack));
    // the figures are the API's own
    const balances = await api.get(`/v1/customers/${customer}/balances`);
    expect(balances.body.balances.find((b: { creditSystem: string }) => b.creditSystem === 'ai-credits').total).toBe(afterPack);
    bySession.close();
    byKey.close();
  });

  it('holds at most 50 open streams per tenant on one API process (429 too_many_streams past it)', { timeout: 120_000 }, async () => {
    const { api, secret } = await billingTenant();
    const customer = await newCustomer(api);
    const auth = { Authorization: `Bearer ${secret}` };
    const streams: Stream[] = [];
    for (let i = 0; i < 50; i++) streams.push(await openStream(second.url, customer, auth));
    expect(streams.map((s) => s.status)).toEqual(Array(50).fill(200));
    const refused = await fetch(`${second.url}/v1/customers/${customer}/balance-stream`, { headers: auth });
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('5');
    expect((await refused.json()).error.code).toBe('too_many_streams');
    // another tenant is not held up by this one
    const other = await billingTenant();
    const otherStream = await openStream(second.url, await newCustomer(other.api), { Authorization: `Bearer ${other.secret}` });
    expect(otherStream.status).toBe(200);
    otherStream.close();
    // a closed stream frees its place
    streams.pop()!.close();
    await expect.poll(async () => {
      const s = await openStream(second.url, customer, auth);
      if (s.status === 200) streams.push(s);
      return s.status;
    }, { timeout: 10_000, interval: 250 }).toBe(200);
    for (const s of streams) s.close();
  });

  it("is tenant-scoped, refused without a session or key, and ends at the first ping after sign-out", { timeout: 120_000 }, async () => {
    const a = await billingTenant();
    const b = await billingTenant();
    const shared = `cus_${randomUUID().slice(0, 8)}`; // the same customer id in both tenants
    await newCustomer(a.api, shared);
    await newCustomer(b.api, shared);
    const onlyA = await newCustomer(a.api);

    expect((await openStream(apiUrl(), onlyA, {})).status).toBe(401);
    expect((await openStream(apiUrl(), onlyA, { Cookie: `tally_session=${'A'.repeat(43)}` })).status).toBe(401);
    const sb = await signIn(b.secret);
    const foreign = await openStream(apiUrl(), onlyA, { Cookie: sb.cookie });
    expect(foreign.status).toBe(404);
    expect((await openStream(apiUrl(), onlyA, { Authorization: `Bearer ${b.secret}` })).status).toBe(404);

    const sa = await signIn(a.secret);
    const streamA = await openStream(apiUrl(), shared, { Cookie: sa.cookie });
    const streamB = await openStream(apiUrl(), shared, { Cookie: sb.cookie });
    expect([streamA.status, streamB.status]).toEqual([200, 200]);
    await new Promise((r) => setTimeout(r, 300));
    const checked = await a.api.post('/v1/check', { customer: shared, feature: 'gpt-4', value: 1, sendEvent: true });
    expect(checked.status).toBe(200);
    await streamA.next(isBalance(shared, PLAN_CREDITS - GPT4_COST));
    // B's customer of the same id heard nothing: give any stray message the time A's took, and more
    await new Promise((r) => setTimeout(r, 1_000));
    expect(streamB.events).toEqual([]);
    expect((await client(b.secret).get(`/v1/customers/${shared}/balances`)).body.balances[0].total).toBe(PLAN_CREDITS);

    // a ping within 15 s (+ slack); after sign-out the stream ends at the next one
    await expect.poll(() => streamA.comments.includes('ping'), { timeout: 25_000, interval: 250 }).toBe(true);
    const out = await fetch(`${apiUrl()}/dashboard/api/session`, { method: 'DELETE', headers: { Cookie: sa.cookie, 'X-CSRF-Token': sa.csrfToken } });
    expect(out.status).toBe(204);
    const endedInTime = await Promise.race([streamA.ended.then(() => true), new Promise((r) => setTimeout(() => r(false), 25_000))]);
    expect(endedInTime).toBe(true);
    // B's session was not touched
    expect(streamB.comments).toContain('connected');
    streamB.close();
  });
});
