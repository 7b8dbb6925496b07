import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parseFaults } from './faults.ts';
import { runSimulation } from './runner.ts';

/**
 * npm run sim -- --seed S --ops N [--profile default|cluster] [--catalog default|wide]
 *   [--faults kill,flush,keys,clickhouse,period,broker] [--fault-every-ms MS] [--weights addon=20,refund=5]
 *   [--redis-db D] [--concurrency C] [--queue Q] [--max-minutes M]
 */
const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: '1' },
    ops: { type: 'string', default: '300' },
    profile: { type: 'string', default: 'default' },
    catalog: { type: 'string', default: 'default' },
    'fault-every-ms': { type: 'string', default: '0' },
    faults: { type: 'string', default: 'kill,flush,keys,period' },
    'redis-db': { type: 'string', default: '13' },
    concurrency: { type: 'string', default: '16' },
    queue: { type: 'string', default: '64' },
    weights: { type: 'string', default: '' },
    'max-minutes': { type: 'string', default: '0' },
  },
});

const int = (name: string, v: string | undefined) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) {
    console.error(`--${name} must be a non-negative integer, got ${v}`);
    process.exit(2);
  }
  return n;
};
if (values.profile !== 'default' && values.profile !== 'cluster') {
  console.error(`--profile must be default or cluster, got ${values.profile}${values.profile === 'wide' ? ' (the wide catalog is --catalog wide now)' : ''}`);
  process.exit(2);
}
if (values.catalog !== 'default' && values.catalog !== 'wide') {
  console.error(`--catalog must be default or wide, got ${values.catalog}`);
  process.exit(2);
}

const weights: Record<string, number> = {};
for (const pair of (values.weights ?? '').split(',').filter(Boolean)) {
  const [k, v] = pair.split('=');
  const w = Number(v);
  if (!k || !Number.isFinite(w) || w < 0) {
    console.error(`--weights takes op=weight pairs (a non-negative number), got ${pair}`);
    process.exit(2);
  }
  weights[k] = w;
}

// SIGUSR2 stops generating: what was launched ends, then the usual quiescence and comparison. (Not SIGINT: a
// terminal's Ctrl-C reaches the stack's processes too.)
let askStop = () => {};
const stopSignal = new Promise<void>((resolve) => (askStop = resolve));
process.once('SIGUSR2', () => {
  console.log('SIGUSR2: no new operations; quiescing and comparing');
  askStop();
});
console.log(`stop early and still compare: kill -USR2 ${process.pid}`);

const result = await runSimulation({
  maxMs: int('max-minutes', values['max-minutes']) * 60_000,
  stopSignal,
  weights,
  seed: int('seed', values.seed),
  ops: int('ops', values.ops),
  profile: values.profile,
  catalog: values.catalog,
  faults: parseFaults(values.faults ?? ''),
  faultEveryMs: int('fault-every-ms', values['fault-every-ms']),
  redisDb: int('redis-db', values['redis-db']),
  concurrency: Math.max(1, int('concurrency', values.concurrency)),
  queue: Math.max(1, int('queue', values.queue)),
  log: (line) => console.log(line),
});
console.log(`seed ${result.seed}, ${result.ops} ops, profile ${values.profile}, faults [${result.faults.join(',')}], ${(result.wallMs / 1000).toFixed(1)} s (stack ${(result.stackMs / 1000).toFixed(1)} s)`);
console.log(result.perf);
console.log(`operations: ${Object.entries(result.counts).map(([k, n]) => `${k} ${n}`).join(', ')}`);
console.log(result.summary);
if (result.divergences.length === 0) {
  console.log('no divergence: Tally matches the reference model exactly');
} else {
  console.log(result.report);
  const file = path.join(os.tmpdir(), `tally-sim-${result.seed}-${Date.now()}.history`);
  writeFileSync(file, `${result.history.join('\n')}\n`);
  console.log(`whole history (${result.history.length} entries): ${file}`);
  const faultEvery = values['fault-every-ms'] !== '0' ? ` --fault-every-ms ${values['fault-every-ms']}` : '';
  console.log(`replay: npm run sim -- --seed ${result.seed} --ops ${result.ops} --profile ${values.profile} --catalog ${values.catalog} --faults ${result.faults.join(',') || 'none'}${faultEvery}${values.weights ? ` --weights ${values.weights}` : ''}`);
  process.exitCode = 1;
}
