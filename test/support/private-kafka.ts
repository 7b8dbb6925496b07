import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createKafka, KafkajsAdmin } from '@tally/kafka';
import { freePort } from './processes.ts';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const LIBS = path.join(repoRoot, '.data/kafka/libs/*');

/**
 * A Kafka broker of its own (single-node KRaft, the jars of the shared one in
 * .data/kafka/libs, a temporary data dir), for a test that pauses the broker
 * (SIGSTOP/SIGCONT) without touching the one every other suite uses.
 */
export interface PrivateKafka {
  brokers: string;
  pid: number;
  pause(): void;
  resume(): void;
  stop(): Promise<void>;
}

export async function privateKafka(timeoutMs = 90_000): Promise<PrivateKafka> {
  const [port, controllerPort] = [await freePort(), await freePort()];
  const dir = mkdtempSync(path.join(tmpdir(), 'tally-kafka-'));
  const props = path.join(dir, 'server.properties');
  writeFileSync(
    props,
    [
      'process.roles=broker,controller',
      'node.id=1',
      `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
      `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
      `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
      'controller.listener.names=CONTROLLER',
      'inter.broker.listener.name=PLAINTEXT',
      'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
      `log.dirs=${path.join(dir, 'data')}`,
      'num.partitions=6',
      'default.replication.factor=1',
      'min.insync.replicas=1',
      'offsets.topic.replication.factor=1',
      'offsets.topic.num.partitions=6',
      'transaction.state.log.replication.factor=1',
      'transaction.state.log.min.isr=1',
      'transaction.state.log.num.partitions=6',
      'group.initial.rebalance.delay.ms=0',
      'auto.create.topics.enable=false',
      'num.network.threads=2',
      'num.io.threads=2',
    ].join('\n'),
  );
  writeFileSync(path.join(dir, 'log4j.properties'), 'log4j.rootLogger=WARN, stdout\nlog4j.appender.stdout=org.apache.log4j.ConsoleAppender\nlog4j.appender.stdout.layout=org.apache.log4j.PatternLayout\n');
  const log4j = `-Dlog4j.configuration=file:${path.join(dir, 'log4j.properties')}`;
  // a KRaft cluster id: 16 random bytes, base64url without padding
  const clusterId = randomBytes(16).toString('base64url');
  await run(spawn('java', ['-cp', LIBS, log4j, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', props], { stdio: 'ignore' }), 'kafka storage format');
  const child = spawn('java', ['-Xms128m', '-Xmx384m', '-XX:+UseG1GC', '-Djava.awt.headless=true', log4j, `-Dkafka.logs.dir=${dir}`, '-cp', LIBS, 'kafka.Kafka', props], {
    stdio: 'ignore',
  });
  const brokers = `127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGCONT');
      child.kill('SIGKILL');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const admin = new KafkajsAdmin(createKafka({ brokers: [brokers], clientId: 'e2e-private-kafka' }));
    try {
      await admin.ping();
      await admin.disconnect().catch(() => {});
      break;
    } catch {
      await admin.disconnect().catch(() => {});
      if (child.exitCode !== null || Date.now() > deadline) {
        await stop();
        throw new Error('private Kafka broker did not start');
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  return {
    brokers,
    pid: child.pid!,
    pause: () => void child.kill('SIGSTOP'),
    resume: () => void child.kill('SIGCONT'),
    stop,
  };
}

async function run(child: ChildProcess, what: string): Promise<void> {
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`${what} exited with ${code}`);
}
