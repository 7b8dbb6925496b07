/**
 * check benchmark: POST /v1/check (warm customers, one Lua call each) with
 * many concurrent keep-alive connections, next to raw Redis round trips
 * (ioredis PING and the check script itself via EVALSHA) in the same run.
 * Usage: npx tsx bench/check.ts [seconds=10] [connections=64]
 */
import { once } from 'node:events';
import { execFileSync } from 'node:child_process';
import { createRedis } from '@tally/redis';
import { benchTenant, config, machine, post, round, startStack, summarize } from './lib.ts';

const seconds = Number(process.argv[2] ?? 10);
const connections = Number(process.argv[3] ?? 64);

async function closedLoop(lanes: number, secs: number, op: () => Promise<void>) {
  const latencies: number[] = [];
  const deadline = performance.now() + secs * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: lanes }, async () => {
      while (performance.now() < deadline) {
        const t0 = performance.now();
        await op();
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  return { perSecond: Math.round(latencies.length / elapsed), latencyMs: summarize(latencies) };
}

console.log(`# check bench ${new Date().toISOString()} — ${machine()}`);
const stack = await startStack(false);
const redis = createRedis(config.REDIS_URL);
await once(redis, 'ready');
try {
  const t = await benchTenant(stack.api.url, Number(process.env.BENCH_CUSTOMERS ?? 100));
  let n = 0;
  const body = () => JSON.stringify({ customer: t.customers[n++ % t.customers.length], feature: 'gpt-4', value: 1 });
  for (let i = 0; i < t.customers.length; i++) await post(stack.api.url, '/v1/check', t.secret, body()); // warm: state built once

  // JIT and connection warm-up, not measured
  await closedLoop(4, 3, async () => {
    await post(stack.api.url, '/v1/check', t.secret, body());
  });
  for (const lanes of [1, 16, connections]) {
    const r = await closedLoop(lanes, seconds, async () => {
      const res = await post(stack.api.url, '/v1/check', t.secret, body());
      if (res.status !== 200) throw new Error(`check ${res.status}: ${res.text}`);
    });
    console.log(`POST /v1/check, ${lanes} connection(s)`, JSON.stringify(r));
    const ping = await closedLoop(lanes, Math.min(seconds, 5), async () => {
      await redis.ping();
    });
    console.log(`ioredis PING, ${lanes} concurrent`, JSON.stringify(ping));
  }
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
