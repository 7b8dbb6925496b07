import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort, repoRoot } from './processes.ts';

const run = promisify(execFile);

/**
 * A single-node KRaft Kafka broker of the sim's own, so the `broker` fault can
 * stop and restart it without touching the shared broker other runs use. It
 * runs the jars deploy/local fetched (`.data/kafka/libs`) the way
 * deploy/local/services/kafka.sh starts the shared one, on free ports, with
 * its storage formatted in a temporary folder that `stop()` removes.
 */
export class PrivateBroker {
  private child: ChildProcess | null = null;
  private tail = '';

  private constructor(readonly dir: string, readonly port: number, readonly controllerPort: number, private readonly libs: string) {}

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  static async create(dataDir = path.join(repoRoot, '.data')): Promise<PrivateBroker> {
    const libs = path.join(dataDir, 'kafka', 'libs');
    const dir = await mkdtemp(path.join(os.tmpdir(), 'tally-sim-kafka-'));
    const broker = new PrivateBroker(dir, await freePort(), await freePort(), libs);
    await broker.writeConfig();
    // a KRaft cluster id is 16 random bytes, base64url without padding (what `kafka-storage random-uuid` prints)
    const clusterId = randomBytes(16).toString('base64url');
    await run('java', ['-cp', `${libs}/*`, `-Dlog4j.configuration=file:${dir}/log4j.properties`, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', `${dir}/server.properties`], {
      timeout: 120_000,
    }).catch(async (err: unknown) => {
      await rm(dir, { recursive: true, force: true });
      throw new Error(`formatting the sim's Kafka storage failed (are the jars in ${libs}? deploy/local fetches them): ${String(err)}`);
    });
    return broker;
  }

  private async writeConfig(): Promise<void> {
    const props = [
      'process.roles=broker,controller',
      'node.id=1',
      `controller.quorum.voters=1@127.0.0.1:${this.controllerPort}`,
      `listeners=PLAINTEXT://127.0.0.1:${this.port},CONTROLLER://127.0.0.1:${this.controllerPort}`,
      `advertised.listeners=PLAINTEXT://127.0.0.1:${this.port}`,
      'controller.listener.names=CONTROLLER',
      'inter.broker.listener.name=PLAINTEXT',
      'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
      `log.dirs=${this.dir}/data`,
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
    ];
    await writeFile(path.join(this.dir, 'server.properties'), `${props.join('\n')}\n`);
    await writeFile(
      path.join(this.dir, 'log4j.properties'),
      ['log4j.rootLogger=WARN, stdout', 'log4j.appender.stdout=org.apache.log4j.ConsoleAppender', 'log4j.appender.stdout.layout=org.apache.log4j.PatternLayout', 'log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n', ''].join('\n'),
    );
  }

  /** Starts the broker and waits until it answers metadata with a controller (registered and unfenced). */
  async start(timeoutMs = 120_000): Promise<void> {
    const child = spawn(
      'java',
      ['-Xms128m', '-Xmx384m', '-XX:+UseG1GC', '-Djava.awt.headless=true', `-Dlog4j.configuration=file:${this.dir}/log4j.properties`, `-Dkafka.logs.dir=${this.dir}`, '-cp', `${this.libs}/*`, 'kafka.Kafka', `${this.dir}/server.properties`],
      { cwd: this.dir, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child = child;
    const keep = (chunk: Buffer) => {
      this.tail = (this.tail + chunk.toString()).slice(-4000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`the sim's Kafka broker exited with ${child.exitCode}:\n${this.tail}`);
      try {
        await run(process.execPath, [path.join(repoRoot, 'deploy/local/probe-kafka.mjs'), this.address, '--timeout', '3000'], { timeout: 6000 });
        return;
      } catch {
        // not ready yet
      }
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`the sim's Kafka broker not ready within ${timeoutMs} ms:\n${this.tail}`);
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  /** SIGSTOP: a broker that hangs without closing its port (a long GC pause, a full disk); `resume()` ends it. */
  pause(): void {
    this.child?.kill('SIGSTOP');
  }

  resume(): void {
    this.child?.kill('SIGCONT');
  }

  /** SIGTERM is a controlled shutdown (waited for, up to 60 s, then SIGKILL); SIGKILL is a crash. */
  async stop(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    await exited;
    clearTimeout(timer);
  }

  /** Stops the broker and removes its storage. */
  async destroy(): Promise<void> {
    await this.stop('SIGKILL');
    await rm(this.dir, { recursive: true, force: true });
  }
}
