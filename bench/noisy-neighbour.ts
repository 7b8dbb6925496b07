/**
 * Noisy neighbour on `check` (issue 14): tenant B's POST /v1/check latency
 * (p50/p99, one connection, closed loop) alone, and while tenant A sends
 * `check` on 64 connections. With the per-tenant limit on
 * (RATE_LIMIT_CHECK_PER_SECOND, 2,000/s by default) A is answered 429 past it;
 * the same run with limits off shows what A costs B without them. The
 * issue's target: B's p99 during A's load within 2x of B alone.
 * On a loaded box that cannot serve 2,000 checks/s at all, pass a lower limit
 * (every tenant's default; B's one connection stays under it, A's 64 go over).
 * B is paced (one request every 1000 / B_RATE ms, default 200/s, at most half the limit) so that B never
 * meets its own limit: its latencies are then B's, not its 429s.
 * Usage: npx tsx bench/noisy-neighbour.ts [seconds=15] [connections=64] [modes=limits,nolimits] [limit=2000] [bRate=200]
 */
import os from 'node:os';
import { benchTenant, machine, post, round, startStack, summarize } from './lib.ts';
import { RawHttpConnection, rawRequest } from './raw-http.ts';

const seconds = Number(process.argv[2] ?? 15);
const connections = Number(process.argv[3] ?? 64);
const modes = (process.argv[4] ?? 'limits,nolimits').split(',');
const CHECK_LIMIT = process.argv[5] ?? '2000';
const B_RATE = Math.min(Number(process.argv[6] ?? 200), Number(CHECK_LIMIT) / 2 || Number.POSITIVE_INFINITY);
const load = () => os.loadavg().map((l) => round(l)).join(' ');

console.log(`# noisy-neighbour bench ${new Date().toISOString()} — ${machine()} — load ${load()}`);

/** Closed loop on each connection until `until` (paced: each request starts `everyMs` after the last); latencies of every answer, counts per status. */
async function loop(conns: RawHttpConnection[], requests: Buffer[], until: () => boolean, everyMs = 0) {
  const ms: number[] = [];
  const statuses = new Map<number, number>();
  let n = 0;
  await Promise.all(
    conns.map(async (conn) => {
      while (!until()) {
        const t0 = performance.now();
        const res = await conn.send(requests[n++ % requests.length]!);
        ms.push(performance.now() - t0);
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        const wait = t0 + everyMs - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        // 503: the loaded box ran past the request's budget; counted, and the loop goes on
        if (res.status !== 200 && res.status !== 429 && res.status !== 503) throw new Error(`check ${res.status}: ${res.body}`);
      }
    }),
  );
  return { ms, statuses: Object.fromEntries(statuses) };
}

for (const mode of modes) {
  const limit = mode === 'limits' ? CHECK_LIMIT : '0';
  const stack = await startStack(false, { RATE_LIMIT_CHECK_PER_SECOND: limit });
  try {
    const a = await benchTenant(stack.api.url, 100);
    const b = await benchTenant(stack.api.url, 20);
    const requestsOf = (t: typeof a) =>
      t.customers.map((customer) => rawRequest('POST', '/v1/check', { Authorization: `Bearer ${t.secret}`, 'Content-Type': 'application/json' }, JSON.stringify({ customer, feature: 'gpt-4', value: 1 })));
    for (const t of [a, b]) for (const customer of t.customers) await post(stack.api.url, '/v1/check', t.secret, JSON.stringify({ customer, feature: 'gpt-4', value: 1 }));
    const bConn = [await RawHttpConnection.open(stack.api.url)];
    const aConns = await Promise.all(Array.from({ length: connections }, () => RawHttpConnection.open(stack.api.url)));
    const after = (ms: number) => {
      const end = performance.now() + ms;
      return () => performance.now() > end;
    };

    const bEvery = 1000 / B_RATE;
    await loop(bConn, requestsOf(b), after(3000), bEvery); // warm-up, not measured
    const alone = await loop(bConn, requestsOf(b), after(seconds * 1000), bEvery);
    console.log(`[${mode}] B alone, 1 connection paced at ${round(B_RATE)}/s`, JSON.stringify({ perSecond: Math.round(alone.ms.length / seconds), ms: summarize(alone.ms), statuses: alone.statuses, load: load() }));

    let done = false;
    const started = performance.now();
    const noisy = loop(aConns, requestsOf(a), () => done);
    const during = await loop(bConn, requestsOf(b), after(seconds * 1000), bEvery);
    done = true;
    const aRun = await noisy;
    const aSeconds = (performance.now() - started) / 1000;
    console.log(
      `[${mode}] B while A sends check on ${connections} connections`,
      JSON.stringify({
        perSecond: Math.round(during.ms.length / seconds),
        ms: summarize(during.ms),
        statuses: during.statuses,
        bP99OverAlone: round(summarize(during.ms).p99 / summarize(alone.ms).p99),
        a: { answersPerSecond: Math.round(aRun.ms.length / aSeconds), okPerSecond: Math.round((aRun.statuses[200] ?? 0) / aSeconds), statuses: aRun.statuses, ms: summarize(aRun.ms), limitPerSecond: Number(limit) },
        load: load(),
      }),
    );
    for (const c of [...bConn, ...aConns]) c.close();
  } finally {
    await stack.stop();
  }
}
process.exit(0);
