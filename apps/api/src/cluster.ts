import cluster, { type Worker } from 'node:cluster';
import os from 'node:os';
import { AggregatorRegistry } from 'prom-client';
import { metricsRegistry, type Logger } from '@tally/runtime';

/** How many API processes `API_PROCESSES` asks for (`auto`: one per core; unset: `auto` in production, else 1). */
export function apiProcessCount(setting: number | 'auto' | undefined, nodeEnv = process.env.NODE_ENV): number {
  const value = setting ?? (nodeEnv === 'production' ? 'auto' : 1);
  return value === 'auto' ? os.availableParallelism() : value;
}

const METRICS_REQ = 'tally:metrics-req';
const METRICS_RES = 'tally:metrics-res';
interface MetricsMessage {
  type: string;
  id: number;
  text?: string;
  error?: string;
}

/**
 * The primary of a clustered API: forks `count` processes that share the port (the primary accepts
 * and hands connections out round-robin), starts a new one when one dies, and on SIGTERM/SIGINT asks
 * each to shut down (their own graceful Shutdown) and exits once all have. It serves no request
 * itself; it answers the processes' /metrics requests with the sum over all of them.
 */
export function runPrimary(count: number, logger: Logger): void {
  const aggregator = new AggregatorRegistry();
  let stopping = false;
  const restarts: number[] = [];
  // our own count: cluster.workers may still list a process at its 'exit' (until its IPC disconnect is seen)
  const live = new Set<Worker>();

  const fork = (): Worker => {
    const worker = cluster.fork();
    live.add(worker);
    worker.on('message', (msg: MetricsMessage) => {
      if (msg?.type !== METRICS_REQ) return;
      aggregator.clusterMetrics().then(
        (text) => worker.send({ type: METRICS_RES, id: msg.id, text } satisfies MetricsMessage),
        (err: Error) => worker.send({ type: METRICS_RES, id: msg.id, error: err.message } satisfies MetricsMessage),
      );
    });
    return worker;
  };

  cluster.on('exit', (worker, code, signal) => {
    live.delete(worker);
    if (stopping) {
      if (live.size === 0) process.exit(0);
      return;
    }
    // a crash loop (bad config, a dependency refusing at start) must not fork forever at full speed
    const now = Date.now();
    restarts.push(now);
    while (restarts.length > 0 && restarts[0]! < now - 60_000) restarts.shift();
    const delay = restarts.length > count * 3 ? 5_000 : 0;
    logger.error({ pid: worker.process.pid, code, signal, restartInMs: delay }, 'api process exited; starting another');
    setTimeout(() => !stopping && fork(), delay);
  });

  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping api processes');
    if (live.size === 0) process.exit(0);
    for (const w of live) w.process.kill('SIGTERM');
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));

  logger.info({ processes: count }, 'api primary starting processes');
  for (let i = 0; i < count; i++) fork();
}

/**
 * In a clustered API process, first thing: answer the primary's collection requests with this process's
 * registry. A process still starting must answer too, or every other process's /metrics waits for it.
 */
export function answerPrimaryMetrics(): void {
  if (!cluster.isWorker) return;
  AggregatorRegistry.setRegistries([metricsRegistry]);
  new AggregatorRegistry(); // adds the listener
}

/** In a clustered API process: /metrics answered with the primary's sum over every process (null otherwise). */
export function clusteredMetrics(): (() => Promise<string>) | null {
  if (!cluster.isWorker) return null;
  let next = 0;
  const waiting = new Map<number, { resolve: (t: string) => void; reject: (e: Error) => void }>();
  process.on('message', (msg: MetricsMessage) => {
    if (msg?.type !== METRICS_RES) return;
    const w = waiting.get(msg.id);
    if (!w) return;
    waiting.delete(msg.id);
    if (msg.text !== undefined) w.resolve(msg.text);
    else w.reject(new Error(msg.error ?? 'metrics collection failed'));
  });
  return () =>
    new Promise<string>((resolve, reject) => {
      const id = ++next;
      const timer = setTimeout(() => {
        waiting.delete(id);
        reject(new Error('metrics collection timed out'));
      }, 5_000);
      waiting.set(id, {
        resolve: (t) => (clearTimeout(timer), resolve(t)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      process.send?.({ type: METRICS_REQ, id } satisfies MetricsMessage);
    });
}
