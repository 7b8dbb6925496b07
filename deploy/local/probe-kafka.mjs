#!/usr/bin/env node
// Dependency-free Kafka readiness probe for deploy/local (Node >= 18).
//
//   node deploy/local/probe-kafka.mjs [host:port] [--timeout ms]
//
// Opens a TCP connection and speaks the Kafka wire protocol directly:
//   1. ApiVersions v0 (api key 18): the broker must answer with our correlation id and error_code 0;
//   2. Metadata v1 (api key 3, all topics): the answer must list at least one broker and a
//      controller id >= 0, i.e. the KRaft broker is registered and unfenced, not just listening.
// Exit 0 and one JSON line on success; exit 1 and a reason on stderr otherwise.
import net from 'node:net';

const args = process.argv.slice(2);
let target = (process.env.KAFKA_BROKERS || '127.0.0.1:9092').split(',')[0];
let timeoutMs = 5000;
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--timeout') timeoutMs = Number(args[++i]);
  else target = args[i].split(',')[0];
}
target = target.replace(/^[a-z]+:\/\//i, '');
const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(target);
const host = m ? m[1] : target;
const port = m ? Number(m[2]) : 9092;
const CLIENT_ID = 'tally-probe';

function request(apiKey, apiVersion, correlationId, body) {
  const cid = Buffer.from(CLIENT_ID, 'utf8');
  const header = Buffer.alloc(10 + cid.length);
  header.writeInt16BE(apiKey, 0);
  header.writeInt16BE(apiVersion, 2);
  header.writeInt32BE(correlationId, 4);
  header.writeInt16BE(cid.length, 8);
  cid.copy(header, 10);
  const size = Buffer.alloc(4);
  size.writeInt32BE(header.length + body.length, 0);
  return Buffer.concat([size, header, body]);
}

function fail(msg) {
  process.stderr.write(`kafka probe ${host}:${port}: ${msg}\n`);
  process.exit(1);
}

const socket = net.connect({ host, port });
const timer = setTimeout(() => { socket.destroy(); fail(`timeout after ${timeoutMs} ms`); }, timeoutMs);
let buf = Buffer.alloc(0);
const pending = [];

function readFrames() {
  while (buf.length >= 4) {
    const len = buf.readInt32BE(0);
    if (buf.length < 4 + len) return;
    const frame = buf.subarray(4, 4 + len);
    buf = buf.subarray(4 + len);
    const next = pending.shift();
    if (next) next(frame);
  }
}

function send(apiKey, version, correlationId, body) {
  return new Promise((resolve) => {
    pending.push(resolve);
    socket.write(request(apiKey, version, correlationId, body));
  }).then((frame) => {
    const got = frame.readInt32BE(0);
    if (got !== correlationId) fail(`correlation id mismatch: sent ${correlationId}, got ${got}`);
    return frame.subarray(4);
  });
}

socket.on('data', (d) => { buf = Buffer.concat([buf, d]); readFrames(); });
socket.on('error', (e) => fail(e.code || e.message));
socket.on('close', () => { if (pending.length) fail('connection closed by broker'); });

socket.on('connect', async () => {
  // 1. ApiVersions v0: empty body.
  const av = await send(18, 0, 0x7a11_0001, Buffer.alloc(0));
  const err = av.readInt16BE(0);
  if (err !== 0) fail(`ApiVersions error_code ${err}`);
  const nApis = av.readInt32BE(2);
  const versions = {};
  for (let i = 0, o = 6; i < nApis; i++, o += 6) versions[av.readInt16BE(o)] = [av.readInt16BE(o + 2), av.readInt16BE(o + 4)];
  if (!versions[3] || versions[3][0] > 1) fail('broker does not support Metadata v1');

  // 2. Metadata v1: topics = null (-1) means all topics.
  const nullArray = Buffer.alloc(4); nullArray.writeInt32BE(-1, 0);
  const md = await send(3, 1, 0x7a11_0002, nullArray);
  let o = 0;
  const nBrokers = md.readInt32BE(o); o += 4;
  const brokers = [];
  for (let i = 0; i < nBrokers; i++) {
    const nodeId = md.readInt32BE(o); o += 4;
    const hl = md.readInt16BE(o); o += 2;
    const bhost = md.toString('utf8', o, o + hl); o += hl;
    const bport = md.readInt32BE(o); o += 4;
    const rl = md.readInt16BE(o); o += 2; if (rl > 0) o += rl;
    brokers.push(`${nodeId}@${bhost}:${bport}`);
  }
  const controllerId = md.readInt32BE(o); o += 4;
  const nTopics = md.readInt32BE(o);
  if (nBrokers < 1) fail('Metadata lists no brokers yet (broker still starting/fenced)');
  if (controllerId < 0) fail('Metadata has no controller yet');
  clearTimeout(timer);
  socket.end();
  process.stdout.write(JSON.stringify({ ok: true, brokers, controllerId, topics: nTopics, apis: nApis }) + '\n');
  process.exit(0);
});
