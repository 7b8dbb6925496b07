/**
 * Usage rows ClickHouse refused, over HTTP: GET /v1/dead-letters (newest
 * first, cursor pages), POST /v1/dead-letters/:id/replay (refused again: 422
 * and kept; with repair: inserted once), tenant isolation, bad input, and the
 * `tally dead-letters` CLI. Dead letters are seeded through the repository
 * the workers' writer uses (the API now refuses such strings at the door),
 * and once end to end: the issue's event put on Kafka behind the API's back.
 */
import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createClickHouse, queryRows, sql } from '@tally/clickhouse';
import type { DeductJob, UsageEventMessage } from '@tally/contracts';
import { createKafka, KafkajsProducer } from '@tally/kafka';
import { DeadLetterRepo, deductQueueName, usageRow, type UsageRow } from '@tally/metering';
import { ownBull } from '@tally/redis';
import { createPool } from '@tally/postgres';
import { Tally, deadLettersMain } from '@tally/sdk';
import { apiUrl, client, config, eventually, newTenant, type Answer } from './support/stack.ts';

type Api = ReturnType<typeof client>;

const pool = createPool(config.DATABASE_URL, 2);
const clickhouse = createClickHouse({ url: config.CLICKHOUSE_URL, database: config.CLICKHOUSE_DATABASE, username: config.CLICKHOUSE_USER, password: config.CLICKHOUSE_PASSWORD });
const repo = new DeadLetterRepo(pool);
const REASON = 'CANNOT_PARSE_ESCAPE_SEQUENCE (25): Cannot parse escape sequence: missing second part of surrogate pair: (while read the value of key customer_id)';

/** The issue's row: customer "sur\ud800x", feature "bf". */
const refusedRow = (tenantId: string, eventId: string): UsageRow =>
  usageRow(
    { tenantId, id: eventId, customer: 'sur\ud800x', feature: 'bf', valueMicro: '1000000', timestamp: Date.now(), source: 'live', properties: {} },
    { plan: 1_000_000, purchased: 0, overage: 0 },
    'ai-credits',
    'pro',
    Date.now(),
  );

/** Seeds one dead letter at a time (so their order is the seeding order) and returns the rows as stored. */
async function seed(tenantId: string, count: number): Promise<string[]> {
  const texts: string[] = [];
  for (let i = 0; i < count; i++) {
    const rowText = JSON.stringify(refusedRow(tenantId, `evt-${randomUUID()}`));
    expect(await repo.add([{ tenantId, table: 'raw_usage_events_v1', rowText, reason: REASON }])).toBe(1);
    texts.push(rowText);
  }
  return texts;
}

async function storedRows(tenantId: string, eventId: string) {
  return queryRows<{ customer_id: string; c: string }>(
    clickhouse,
    sql`SELECT customer_id, count() AS c FROM raw_usage_events_v1 WHERE tenant_id = ${tenantId} AND event_id = ${eventId} GROUP BY customer_id`.text,
  );
}

interface View {
  id: string;
  table: string;
  row: string;
  reason: string;
  attempts: number;
  lastError: string | null;
  createdAt: string;
  replayedAt: string | null;
}

let a: Api;
let b: Api;
let tenantA: { tenantId: string; secret: string };
let seededA: string[];
let seededB: string[];

beforeAll(async () => {
  const ta = await newTenant('dead-letters-a');
  const tb = await newTenant('dead-letters-b');
  tenantA = { tenantId: ta.tenantId, secret: ta.apiKey.secret };
  a = client(ta.apiKey.secret);
  b = client(tb.apiKey.secret);
  seededA = await seed(ta.tenantId, 5);
  seededB = await seed(tb.tenantId, 1);
});
afterAll(async () => {
  await pool.end();
  await clickhouse.close();
});

async function allPages(api: Api, limit: number): Promise<{ pages: View[][]; hasMore: boolean[] }> {
  const pages: View[][] = [];
  const hasMore: boolean[] = [];
  let cursor: string | null = null;
  do {
    const res: Answer<{ deadLetters: View[]; hasMore: boolean; nextCursor: string | null }> = await api.get(`/v1/dead-letters?limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
    expect(res.status).toBe(200);
    pages.push(res.body.deadLetters);
    hasMore.push(res.body.hasMore);
    cursor = res.body.nextCursor;
    expect(cursor === null).toBe(!res.body.hasMore);
  } while (cursor);
  return { pages, hasMore };
}

describe('GET /v1/dead-letters', () => {
  it('lists the tenant’s own dead letters, newest first, in cursor pages', async () => {
    const { pages, hasMore } = await allPages(a, 2);
    expect(pages.map((p) => p.length)).toEqual([2, 2, 1]);
    expect(hasMore).toEqual([true, true, false]);
    // newest first = the reverse of the seeding order
    expect(pages.flat().map((d) => d.row)).toEqual([...seededA].reverse());
    const first = pages[0]![0]!;
    expect(first).toMatchObject({ table: 'raw_usage_events_v1', reason: REASON, attempts: 0, lastError: null, replayedAt: null });
    expect((JSON.parse(first.row) as UsageRow).customer_id).toBe('sur\ud800x');
  });

  it('another tenant sees only its own', async () => {
    const res = await b.get('/v1/dead-letters');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ success: true, hasMore: false, nextCursor: null });
    expect(res.body.deadLetters.map((d: View) => d.row)).toEqual(seededB);
  });

  it('bad paging input is a 400 naming the problem', async () => {
    for (const q of ['limit=0', 'limit=101', 'limit=abc', 'state=done', 'cursor=not%20a%20cursor', 'colour=red']) {
      const res = await a.get(`/v1/dead-letters?${q}`);
      expect(res.status, q).toBe(400);
      expect(res.body.success).toBe(false);
    }
    const forged = await a.get(`/v1/dead-letters?cursor=${Buffer.from('42').toString('base64url')}`);
    expect(forged.status).toBe(400);
    expect(forged.body.error.code).toBe('validation_error');
    expect(JSON.stringify(forged.body.error)).toContain('cursor');
  });
});

describe('POST /v1/dead-letters/:id/replay', () => {
  let target: View;
  beforeAll(async () => {
    target = (await a.get('/v1/dead-letters?limit=1')).body.deadLetters[0];
  });
  const eventOf = (d: View) => (JSON.parse(d.row) as UsageRow).event_id;
  const current = async (id: string) => ((await a.get('/v1/dead-letters?limit=100')).body.deadLetters as View[]).find((d) => d.id === id)!;

  it('another tenant’s id answers 404 and changes nothing', async () => {
    const res = await b.post(`/v1/dead-letters/${target.id}/replay`, { repair: true });
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('dead_letter_not_found');
    expect(await current(target.id)).toEqual(target);
    expect(await storedRows(tenantA.tenantId, eventOf(target))).toEqual([]);
  });

  it('bad input is a 400 and changes nothing', async () => {
    expect((await a.post('/v1/dead-letters/not-a-uuid/replay', {})).status).toBe(400);
    expect((await a.post(`/v1/dead-letters/${target.id}/replay`, { repair: 'yes' })).status).toBe(400);
    const typo = await a.post(`/v1/dead-letters/${target.id}/replay`, { repiar: true });
    expect(typo.status).toBe(400);
    expect(JSON.stringify(typo.body.error)).toMatch(/repiar/);
    expect((await a.post(`/v1/dead-letters/${randomUUID()}/replay`, {})).status).toBe(404);
    expect(await current(target.id)).toEqual(target);
  });

  it('without repair ClickHouse refuses it again: 422 with the reason, kept, attempt counted', async () => {
    const res = await a.post(`/v1/dead-letters/${target.id}/replay`, {});
    expect(res.status).toBe(422);
    expect(res.body.error).toMatchObject({ code: 'dead_letter_refused', attempts: 1, repaired: false });
    expect(res.body.error.reason).toMatch(/^CANNOT_PARSE_ESCAPE_SEQUENCE \(25\): .*surrogate/);
    expect(await current(target.id)).toMatchObject({ attempts: 1, lastError: res.body.error.reason, replayedAt: null });
    expect(await storedRows(tenantA.tenantId, eventOf(target))).toEqual([]);
  });

  it('with repair the row is inserted once (lone surrogate -> U+FFFD) and marked replayed; a second replay is 409', async () => {
    const res = await a.post(`/v1/dead-letters/${target.id}/replay`, { repair: true });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ success: true, repaired: true, deadLetter: { id: target.id, attempts: 2 } });
    expect(res.body.deadLetter.replayedAt).not.toBeNull();
    expect(await storedRows(tenantA.tenantId, eventOf(target))).toEqual([{ customer_id: 'sur\uFFFDx', c: '1' }]);

    const again = await a.post(`/v1/dead-letters/${target.id}/replay`, { repair: true });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('dead_letter_already_replayed');
    expect(await storedRows(tenantA.tenantId, eventOf(target))).toEqual([{ customer_id: 'sur\uFFFDx', c: '1' }]);
  });

  it('state=pending leaves out what was replayed; state=replayed shows only it', async () => {
    const pending = (await a.get('/v1/dead-letters?state=pending&limit=100')).body.deadLetters as View[];
    expect(pending.map((d) => d.id)).not.toContain(target.id);
    expect(pending).toHaveLength(seededA.length - 1);
    const replayed = (await a.get('/v1/dead-letters?state=replayed')).body.deadLetters as View[];
    expect(replayed.map((d) => d.id)).toEqual([target.id]);
  });
});

describe('the SDK and `tally dead-letters`', () => {
  const env = () => ({ TALLY_API_KEY: tenantA.secret, TALLY_API_URL: apiUrl() });
  const run = async (argv: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await deadLettersMain(argv, env(), { out: (l) => out.push(l), err: (l) => err.push(l) });
    return { code, out: out.join('\n'), err: err.join('\n') };
  };

  it('client.deadLetters pages with limit and cursor', async () => {
    const tally = new Tally({ apiKey: tenantA.secret, apiUrl: apiUrl() });
    const first = await tally.deadLetters({ limit: 3 });
    const rest = await tally.deadLetters({ limit: 3, cursor: first.nextCursor! });
    expect([...first.deadLetters, ...rest.deadLetters].map((d) => d.row)).toEqual([...seededA].reverse());
    expect([first.hasMore, rest.hasMore]).toEqual([true, false]);
  });

  it('list prints each dead letter and its reason; replay refuses without --repair and inserts with it', async () => {
    const pending = (await new Tally({ apiKey: tenantA.secret, apiUrl: apiUrl() }).deadLetters({ state: 'pending', limit: 1 })).deadLetters[0]!;
    const listed = await run(['list', '--state', 'pending', '--limit', '1']);
    expect(listed.code).toBe(0);
    expect(listed.out).toContain(pending.id);
    expect(listed.out).toContain('CANNOT_PARSE_ESCAPE_SEQUENCE');
    expect(listed.out).toMatch(/more: tally dead-letters list --cursor \S+/);

    const refused = await run(['replay', pending.id]);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/dead_letter_refused/);

    const replayed = await run(['replay', pending.id, '--repair']);
    expect(replayed).toMatchObject({ code: 0, out: `replayed ${pending.id} (repaired) into raw_usage_events_v1` });
    expect(await storedRows(tenantA.tenantId, (JSON.parse(pending.row) as UsageRow).event_id)).toEqual([{ customer_id: 'sur\uFFFDx', c: '1' }]);

    expect((await run(['replay'])).code).toBe(2);
    expect((await run(['list', '--limit', '0'])).code).toBe(2);
  });
});

describe('a row ClickHouse refuses, in the running pipeline', () => {
  it('the deduct job completes at once: the good event of its batch is stored, the refused one becomes a dead letter', async () => {
    const tenant = await newTenant('dead-letters-pipeline');
    const api = client(tenant.apiKey.secret);
    const env = inject('stackEnv');
    const message = (id: string, customer: string): UsageEventMessage => ({
      tenantId: tenant.tenantId, id, customer, feature: 'bf', valueMicro: '1000000', timestamp: Date.now(), acceptedAt: Date.now(), source: 'live', properties: {},
    });
    const goodId = `evt-good-${randomUUID()}`;
    const badId = `evt-bad-${randomUUID()}`;
    // One send, one key (one partition): the two events travel in one Kafka batch, one job, one write.
    const producer = new KafkajsProducer(createKafka({ brokers: config.KAFKA_BROKERS, clientId: 'e2e-dead-letters' }));
    await producer.connect();
    const key = `${tenant.tenantId}:good-customer`;
    await producer.send(env.KAFKA_TOPIC_EVENTS!, [
      { key, value: JSON.stringify(message(goodId, 'good-customer')) },
      { key, value: JSON.stringify(message(badId, 'sur\ud800x')) },
    ]);
    await producer.disconnect();

    const letter = await eventually(async () => {
      const res = await api.get('/v1/dead-letters');
      return (res.body.deadLetters as View[] | undefined)?.[0];
    }, 30_000);
    const row = JSON.parse(letter.row) as UsageRow;
    expect(row).toMatchObject({ tenant_id: tenant.tenantId, event_id: badId, customer_id: 'sur\ud800x', feature: 'bf' });
    expect(letter.reason).toMatch(/^CANNOT_PARSE_ESCAPE_SEQUENCE \(25\): .*surrogate/);
    expect(await eventually(async () => (await storedRows(tenant.tenantId, goodId)).length > 0 && storedRows(tenant.tenantId, goodId))).toEqual([{ customer_id: 'good-customer', c: '1' }]);

    // The job that carried the refused event completed, in its first attempt (no retry every second).
    const queue = ownBull(config.REDIS_URL, (o) => new Queue<DeductJob>(deductQueueName(env.KAFKA_CONSUMER_GROUP!), o));
    try {
      const carrying = async (states: ('completed' | 'failed' | 'delayed' | 'active' | 'waiting')[]) =>
        (await queue.getJobs(states, 0, -1)).filter((j) => j.data.customers.some((g) => g.events.some((e) => e.id === badId)));
      const [done] = await eventually(async () => {
        const jobs = await carrying(['completed']);
        return jobs.length > 0 && jobs;
      });
      expect(done!.data.customers.flatMap((g) => g.events.map((e) => e.id)).sort()).toEqual([badId, goodId].sort());
      expect(done!.attemptsMade).toBeLessThanOrEqual(1);
      expect(await carrying(['failed', 'delayed', 'active', 'waiting'])).toEqual([]);
    } finally {
      await queue.close();
    }
    expect((await api.get('/v1/dead-letters')).body.deadLetters).toHaveLength(1);
  });
});
