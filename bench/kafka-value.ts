/**
 * Micro-benchmark (issue 11): what kafkajs does with a usage message's value, per event.
 * PROFILE found Buffer.byteLength flattening the concatenated string liveEventMessage builds; kafkajs
 * measures a string value twice and writes it once, a Buffer value it only copies. Compares the two:
 * the string as it is, and Buffer.from(string) (what handing kafkajs a Buffer would cost first).
 * Usage: npx tsx bench/kafka-value.ts [events=200000] [rounds=3]
 */
import { liveEventMessage } from '@tally/metering';
import { machine } from './lib.ts';

const N = Number(process.argv[2] ?? 200_000);
const ROUNDS = Number(process.argv[3] ?? 3);
const message = (i: number) => ({
  tenantId: 'a1b2c3d4-0000-4000-8000-000000000000', id: `run-${i}`, customer: `bench-c${i % 200}`, feature: 'gpt-4', valueMicro: '1000000',
  timestamp: '2026-12-06T21:00:00.000Z', acceptedAt: '2026-12-06T21:00:00.000Z', properties: { model: 'gpt-4o', region: 'eu' },
  source: 'live' as const, catalogVersion: '12', customerVersion: '3',
});
const events = Array.from({ length: N }, (_, i) => message(i));
const target = Buffer.alloc(1024);
console.log(`# kafka-value bench ${new Date().toISOString()} — ${machine()}`);
for (let round = 0; round < ROUNDS; round++) {
  let t0 = performance.now();
  for (const e of events) {
    const v = liveEventMessage(e as never).value as string;
    const n = Buffer.byteLength(v); // sizeOfVarIntBytes
    Buffer.byteLength(v, 'utf8'); // writeVarIntBytes
    target.write(v, 0, n, 'utf8');
  }
  const asString = performance.now() - t0;
  t0 = performance.now();
  for (const e of events) Buffer.from(liveEventMessage(e as never).value as string).copy(target, 0);
  const asBuffer = performance.now() - t0;
  console.log(`round ${round + 1}: string value ${((asString / N) * 1000).toFixed(2)} µs/event, Buffer value ${((asBuffer / N) * 1000).toFixed(2)} µs/event`);
}
