/**
 * check benchmark: POST /v1/check (warm customers, one Lua call each) with
 * many concurrent keep-alive connections (lean raw-socket client, see
 * raw-http.ts), next to the bare HTTP floor of the same API (GET /healthz)
 * and raw Redis round trips (ioredis PING, redis-benchmark) in the same run.
 * Usage: npx tsx bench/check.ts [seconds=10] [connections=64]
 */
import { once } from 'node:events';
import os from 'node:os';
import { execFileSync } from 'node:child_process';
import { createRedis } from '@tally/redis';
import { benchTenant, config, machine, post, round, startStack, summarize } from './lib.ts';
import { RawHttpConnection, rawRequest } from './raw-http.ts';

const seconds = Number(process.argv[2] ?? 10);
const connections = Number(process.argv[3] ?? 64);

async function closedLoop(lanes: number, secs: number, op: (lane: number) => Promise<void>) {
  const latencies: number[] = [];
  const deadline = performance.now() + secs * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: lanes }, async (_, lane) => {
      while (performance.now() < deadline) {
        const t0 = performance.now();
        await op(lane);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  return { perSecond: Math.round(latencies.length / elapsed), latencyMs: summarize(latencies) };
}

const load = () => os.loadavg().map((l) => round(l)).join(' ');

const openLanes = (base: string, lanes: number) => Promise.all(Array.from({ length: lanes }, () => RawHttpConnection.open(base)));

console.log(`# check bench ${new Date().toISOString()} — ${machine()} — load ${load()}`);
const stack = await startStack(false);
const redis = createRedis(config.REDIS_URL);
await once(redis, 'ready');
try {
  const t = await benchTenant(stack.api.url, Number(process.env.BENCH_CUSTOMERS ?? 100));
  let n = 0;
  const body = () => JSON.stringify({ customer: t.customers[n++ % t.customers.length], feature: 'gpt-4', value: 1 });
  for (let i = 0; i < t.customers.length; i++) await post(stack.api.url, '/v1/check', t.secret, body()); // warm: state built once

  const checkRequests = t.customers.map((customer) =>
    rawRequest('POST', '/v1/check', { Authorization: `Bearer ${t.secret}`, 'Content-Type': 'application/json' }, JSON.stringify({ customer, feature: 'gpt-4', value: 1 })),
  );
  const healthRequest = rawRequest('GET', '/healthz', {});
  let m = 0;
  const check = async (conn: RawHttpConnection) => {
    const res = await conn.send(checkRequests[m++ % checkRequests.length]!);
    if (res.status !== 200) throw new Error(`check ${res.status}: ${res.body}`);
  };

  // JIT and connection warm-up, not measured
  const warm = await openLanes(stack.api.url, 4);
  await closedLoop(4, 3, (lane) => check(warm[lane]!));
  for (const c of warm) c.close();
  for (const lanes of [1, 16, connections]) {
    const conns = await openLanes(stack.api.url, lanes);
    const r = await closedLoop(lanes, seconds, (lane) => check(conns[lane]!));
    console.log(`POST /v1/check, ${lanes} connection(s)`, JSON.stringify(r), `load ${load()}`);
    const bare = await closedLoop(lanes, Math.min(seconds, 5), async (lane) => {
      await conns[lane]!.send(healthRequest);
    });
    console.log(`GET /healthz (bare HTTP, same API), ${lanes} connection(s)`, JSON.stringify(bare));
    for (const c of conns) c.close();
    const ping = await closedLoop(lanes, Math.min(seconds, 5), async () => {
      await redis.ping();
    });
    console.log(`ioredis PING, ${lanes} concurrent`, JSON.stringify(ping));
  }
  // The same requests through Node's http client (keep-alive agent): what the client's own CPU costs on this box.
  const viaAgent = await closedLoop(connections, Math.min(seconds, 5), async () => {
    const res = await post(stack.api.url, '/v1/check', t.secret, body());
    if (res.status !== 200) throw new Error(`check ${res.status}: ${res.text}`);
  });
  console.log(`POST /v1/check via node:http client, ${connections} connections`, JSON.stringify(viaAgent));
  const rb = execFileSync('redis-benchmark', ['-h', '127.0.0.1', '-p', '6379', '-t', 'ping', '-n', '100000', '-c', String(connections), '-q'], { encoding: 'utf8' });
  console.log(`redis-benchmark -t ping -c ${connections}:`, rb.trim().split('\n').map((l) => l.split('\r').pop()).join(' | '));
  const sendEvent = await closedLoop(Math.min(connections, 16), Math.min(seconds, 5), async () => {
    const res = await post(stack.api.url, '/v1/check', t.secret, JSON.stringify({ customer: t.customers[n++ % t.customers.length], feature: 'gpt-4', value: 1, sendEvent: true }));
    if (res.status !== 200) throw new Error(`check ${res.status}`);
  });
  console.log(`POST /v1/check sendEvent (debit + Kafka publish), ${Math.min(connections, 16)} connections`, JSON.stringify(sendEvent));
  void round;
} finally {
  redis.disconnect();
  await stack.stop();
}
process.exit(0);
