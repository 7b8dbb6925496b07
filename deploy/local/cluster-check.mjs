#!/usr/bin/env node
// The cluster profile's proof, run by hand (bash deploy/local/cluster-check.sh runs it after services up + migrate).
//
//   1. Redis: `redis-cli -c -p 7001 cluster info` says cluster_state:ok, and CLUSTER NODES lists 3 masters
//      that hold all 16384 slots between them.
//   2. Kafka: the events topic has replication factor 3 on every partition and min.insync.replicas 2.
//   3. acks=all on a topic of the same shape (tally.cluster-check.v1, created here, deleted at the end):
//      accepted with all brokers; accepted with broker 3 crashed (SIGKILL); refused with NOT_ENOUGH_REPLICAS once
//      broker 2 is stopped too (SIGTERM, see below); accepted again after broker 2 restarts; then broker 3 restarts,
//      every replica is back in sync, and every acknowledged message is read back.
//
// Why the second broker gets a controlled stop and not a crash: each node is also a KRaft controller voter, so with
// two of three nodes gone the controller quorum is gone and nobody can shrink the ISR. After two crashes the
// survivor still counts the dead replica as in sync and an acks=all produce times out (REQUEST_TIMED_OUT) instead
// of being refused with NOT_ENOUGH_REPLICAS: refused either way, never acknowledged. A controlled stop takes the
// broker out of the ISR while the quorum still stands, which is the case that must answer NOT_ENOUGH_REPLICAS.
//
// Exit 0 when every step holds, 1 with the failing step otherwise. A broker this script stopped is restarted
// before it exits, pass or fail.
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import kafkajs from 'kafkajs';

const { Kafka, logLevel, ConfigResourceTypes } = kafkajs;

const HERE = dirname(fileURLToPath(import.meta.url));
const BROKERS = (process.env.KAFKA_BROKERS || '127.0.0.1:19092,127.0.0.1:19093,127.0.0.1:19094').split(',');
const EVENTS_TOPIC = process.env.KAFKA_TOPIC_EVENTS || 'tally.usage-events.v1';
const CHECK_TOPIC = 'tally.cluster-check.v1';
const REDIS_PORT = process.env.REDIS_CLUSTER_FIRST_PORT || '7001';
const PARTITIONS = 3;

const started = Date.now();
const say = (msg) => console.log(`[cluster-check +${((Date.now() - started) / 1000).toFixed(1)}s] ${msg}`);
class CheckFailed extends Error {}
const must = (ok, msg) => { if (!ok) throw new CheckFailed(msg); };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const services = (...args) => execFileSync('bash', [join(HERE, 'services.sh'), ...args], { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, TALLY_PROFILE: 'cluster' } });

// --- 1. Redis Cluster -------------------------------------------------------------------------------------------
function checkRedis() {
  const info = execFileSync('redis-cli', ['-c', '-p', REDIS_PORT, 'cluster', 'info'], { encoding: 'utf8' });
  const field = (name) => new RegExp(`^${name}:(.*)$`, 'm').exec(info)?.[1]?.trim();
  must(field('cluster_state') === 'ok', `redis cluster_state is ${field('cluster_state')}, expected ok`);
  const nodes = execFileSync('redis-cli', ['-p', REDIS_PORT, 'cluster', 'nodes'], { encoding: 'utf8' }).trim().split('\n');
  let slots = 0;
  const masters = nodes.filter((line) => {
    const [, addr, flags, , , , , state, ...ranges] = line.split(' ');
    if (!flags.split(',').includes('master') || flags.includes('fail') || state !== 'connected') return false;
    for (const r of ranges) { const [a, b = a] = r.split('-').map(Number); slots += b - a + 1; }
    return Boolean(addr);
  });
  must(masters.length === 3, `redis: ${masters.length} live masters, expected 3:\n${nodes.join('\n')}`);
  must(slots === 16384, `redis: the masters hold ${slots} slots, expected 16384`);
  say(`redis: cluster_state:ok, 3 masters, 16384 slots (${masters.map((l) => l.split(' ')[1].split('@')[0]).join(' ')})`);
}

// --- 2 and 3. Kafka ---------------------------------------------------------------------------------------------
const kafka = new Kafka({ clientId: 'tally-cluster-check', brokers: BROKERS, logLevel: logLevel.NOTHING, retry: { retries: 2 } });
const admin = kafka.admin();

async function topicShape(topic) {
  const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
  const { resources } = await admin.describeConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['min.insync.replicas'] }], includeSynonyms: false });
  const minIsr = resources[0].configEntries.find((e) => e.configName === 'min.insync.replicas')?.configValue;
  return { partitions: topics[0].partitions, minIsr };
}

async function checkEventsTopic() {
  const { partitions, minIsr } = await topicShape(EVENTS_TOPIC);
  const rfs = [...new Set(partitions.map((p) => p.replicas.length))];
  must(rfs.length === 1 && rfs[0] === 3, `${EVENTS_TOPIC}: replication factors ${rfs.join(',')}, expected 3 on every partition`);
  must(minIsr === '2', `${EVENTS_TOPIC}: min.insync.replicas=${minIsr}, expected 2`);
  say(`kafka: ${EVENTS_TOPIC} has ${partitions.length} partitions, replication factor 3, min.insync.replicas 2`);
  return minIsr;
}

const acked = new Set();
let seq = 0;
const producer = kafka.producer({ retry: { retries: 0 }, allowAutoTopicCreation: false });

/** One message per partition with acks=all; resolves to null when all were acknowledged, else the error. */
async function produceAll(label) {
  const batch = Array.from({ length: PARTITIONS }, (_, partition) => ({ partition, value: `${label}#${++seq}` }));
  try {
    await producer.send({ topic: CHECK_TOPIC, acks: -1, timeout: 5000, messages: batch });
    for (const m of batch) acked.add(m.value);
    return null;
  } catch (err) {
    return err;
  }
}
const errorType = (err) => err?.type || err?.cause?.type || err?.originalError?.type || err?.name || String(err);

/** Retries while leaders move (a broker just left or came back) until every partition acknowledges. */
async function expectAccepted(label, withinMs) {
  const deadline = Date.now() + withinMs;
  let last;
  while (Date.now() < deadline) {
    last = await produceAll(label);
    if (!last) { say(`produce acks=all ${label}: accepted`); return; }
    await sleep(1000);
  }
  throw new CheckFailed(`produce acks=all ${label}: still refused after ${withinMs / 1000}s (${errorType(last)}: ${last.message})`);
}

/** Must never be acknowledged; must end in NOT_ENOUGH_REPLICAS once the leaders have settled. */
async function expectNotEnoughReplicas(label, withinMs) {
  const deadline = Date.now() + withinMs;
  const seen = [];
  while (Date.now() < deadline) {
    const err = await produceAll(label);
    must(err !== null, `produce acks=all ${label}: ACKNOWLEDGED with only one broker in sync (min.insync.replicas 2)`);
    const type = errorType(err);
    if (/^NOT_ENOUGH_REPLICAS/.test(type)) { say(`produce acks=all ${label}: refused with ${type} (on the way: ${seen.join(', ') || 'nothing else'})`); return; }
    if (!seen.includes(type)) seen.push(type);
    await sleep(1000);
  }
  throw new CheckFailed(`produce acks=all ${label}: refused but never with NOT_ENOUGH_REPLICAS in ${withinMs / 1000}s (saw ${seen.join(', ')})`);
}

async function waitFullIsr(topic, withinMs) {
  const deadline = Date.now() + withinMs;
  let last = 'no metadata';
  while (Date.now() < deadline) {
    try {
      const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
      const parts = topics[0].partitions;
      if (parts.length > 0 && parts.every((p) => p.isr.length === 3 && p.leader >= 0)) { say(`kafka: every partition of ${topic} has 3 replicas in sync`); return; }
      last = parts.map((p) => `${p.partitionId}: leader ${p.leader}, isr [${p.isr}]`).join('; ');
    } catch (err) {
      last = errorType(err); // e.g. UNKNOWN_TOPIC_OR_PARTITION from a broker that has not seen a new topic yet
    }
    await sleep(2000);
  }
  throw new CheckFailed(`${topic}: replicas not all in sync after ${withinMs / 1000}s (${last})`);
}

async function readBack() {
  const offsets = await admin.fetchTopicOffsets(CHECK_TOPIC);
  const remaining = new Map(offsets.filter((o) => o.high !== o.low).map((o) => [o.partition, BigInt(o.high)]));
  const read = new Set();
  const groupId = `tally-cluster-check-${process.pid}-${Date.now()}`;
  const consumer = kafka.consumer({ groupId });
  await consumer.connect();
  await consumer.subscribe({ topic: CHECK_TOPIC, fromBeginning: true });
  const done = new Promise((resolve) => {
    if (remaining.size === 0) resolve();
    void consumer.run({
      eachMessage: async ({ partition, message }) => {
        read.add(message.value.toString());
        if (BigInt(message.offset) + 1n >= (remaining.get(partition) ?? 0n)) remaining.delete(partition);
        if (remaining.size === 0) resolve();
      },
    });
  });
  await Promise.race([done, sleep(60_000)]);
  await consumer.disconnect();
  await admin.deleteGroups([groupId]).catch(() => {});
  const lost = [...acked].filter((v) => !read.has(v));
  must(remaining.size === 0, `read back: partitions ${[...remaining.keys()].join(',')} not read to their end in 60s`);
  must(lost.length === 0, `read back: ${lost.length} acknowledged messages missing, e.g. ${lost.slice(0, 5).join(', ')}`);
  say(`read back: all ${acked.size} acknowledged messages present (${read.size} read in all)`);
}

const stopped = new Set();
async function main() {
  checkRedis();
  await admin.connect();
  const minIsr = await checkEventsTopic();
  // A topic left by an interrupted run: delete it and wait until it is gone (deletion is asynchronous).
  if ((await admin.listTopics()).includes(CHECK_TOPIC)) {
    await admin.deleteTopics({ topics: [CHECK_TOPIC] });
    for (let i = 0; i < 30 && (await admin.listTopics()).includes(CHECK_TOPIC); i++) await sleep(1000);
  }
  // kafkajs's waitForLeaders throws when the broker it asks has not seen the new topic yet: waitFullIsr polls instead.
  await admin.createTopics({
    waitForLeaders: false,
    topics: [{ topic: CHECK_TOPIC, numPartitions: PARTITIONS, replicationFactor: 3, configEntries: [{ name: 'min.insync.replicas', value: minIsr }] }],
  });
  await producer.connect();
  await waitFullIsr(CHECK_TOPIC, 60_000);
  await expectAccepted('with 3 brokers', 30_000);

  say('broker 3: SIGKILL (a crash)');
  stopped.add(3); services('kill-broker', '3');
  await expectAccepted('with broker 3 down', 60_000);

  say('broker 2: SIGTERM (controlled stop; the controller takes it out of the ISR before it goes)');
  stopped.add(2); services('kill-broker', '2', 'TERM');
  await expectNotEnoughReplicas('with brokers 2 and 3 down', 60_000);

  say('broker 2: start');
  services('start-broker', '2'); stopped.delete(2);
  await expectAccepted('with broker 2 back', 90_000);

  say('broker 3: start');
  services('start-broker', '3'); stopped.delete(3);
  await waitFullIsr(CHECK_TOPIC, 120_000);
  await waitFullIsr(EVENTS_TOPIC, 120_000);
  await expectAccepted('with all 3 back', 30_000);
  await readBack();
  await admin.deleteTopics({ topics: [CHECK_TOPIC] });
}

let rc = 0;
try {
  await main();
  say('PASS');
} catch (err) {
  rc = 1;
  console.error(`[cluster-check] FAIL: ${err instanceof CheckFailed ? err.message : err.stack || err}`);
} finally {
  for (const n of [...stopped].sort()) {
    try { services('start-broker', String(n)); } catch { console.error(`[cluster-check] could not restart broker ${n}: bash deploy/local/services.sh start-broker ${n}`); rc = 1; }
  }
  await producer.disconnect().catch(() => {});
  await admin.disconnect().catch(() => {});
}
process.exit(rc);
