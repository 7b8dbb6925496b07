/**
 * check A/B: two API processes (e.g. the current tree and a copy of an older
 * commit, each started with `API_PORT=… node --import tsx apps/api/src/main.ts`)
 * driven alternately on one tenant, so both see the same machine load:
 * `secs` of A, `secs` of B, `rounds` times, at 64 then 1 connection(s), with
 * the raw client. cpuMsPerReq is the API process's utime+stime (Linux
 * /proc/<pid>/stat) over the requests it answered.
 * Usage: npx tsx bench/check-ab.ts <urlA> <pidA> <urlB> <pidB> [secs=8] [rounds=3]
 */
import fs from 'node:fs';
import os from 'node:os';
import { benchTenant, post, summarize } from './lib.ts';
import { RawHttpConnection, rawRequest } from './raw-http.ts';
const [urlA, pidA, urlB, pidB] = process.argv.slice(2, 6) as [string, string, string, string];
const secs = Number(process.argv[6] ?? 8);
const rounds = Number(process.argv[7] ?? 3);
const cpu = (pid: string) => { const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' '); return (Number(f[11]) + Number(f[12])) * 10; };
const t = await benchTenant(urlB, 100);
const reqs = t.customers.map((customer) => rawRequest('POST', '/v1/check', { Authorization: `Bearer ${t.secret}`, 'Content-Type': 'application/json' }, JSON.stringify({ customer, feature: 'gpt-4', value: 1 })));
for (const u of [urlA, urlB]) for (const c of t.customers) await post(u, '/v1/check', t.secret, JSON.stringify({ customer: c, feature: 'gpt-4', value: 1 }));
async function run(url: string, pid: string, lanes: number) {
  const conns = await Promise.all(Array.from({ length: lanes }, () => RawHttpConnection.open(url)));
  let n = 0;
  const lat: number[] = [];
  const c0 = cpu(pid);
  const deadline = performance.now() + secs * 1000;
  const t0 = performance.now();
  await Promise.all(conns.map(async (conn) => {
    while (performance.now() < deadline) {
      const s = performance.now();
      const r = await conn.send(reqs[n++ % reqs.length]!);
      if (r.status !== 200) throw new Error(r.body);
      lat.push(performance.now() - s);
    }
  }));
  const c1 = cpu(pid);
  for (const c of conns) c.close();
  return { lanes, rps: Math.round(lat.length / ((performance.now() - t0) / 1000)), cpuMsPerReq: +((c1 - c0) / lat.length).toFixed(3), ...summarize(lat), load: os.loadavg()[0]!.toFixed(1) };
}
await run(urlA, pidA, 4); await run(urlB, pidB, 4); // warm-up
for (const lanes of [64, 1]) for (let i = 0; i < rounds; i++) {
  console.log('A', JSON.stringify(await run(urlA, pidA, lanes)));
  console.log('B', JSON.stringify(await run(urlB, pidB, lanes)));
}
process.exit(0);
