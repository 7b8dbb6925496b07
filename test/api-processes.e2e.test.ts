import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { opsHeaders } from './support/ops.ts';
import { startApp, type AppProcess } from './support/processes.ts';
import { eventually } from './support/stack.ts';

/**
 * API_PROCESSES=2: one primary, two processes sharing the port. A process killed -9 is
 * replaced while the other keeps answering; /metrics is the sum over both; SIGTERM to the
 * primary stops everything; a primary killed -9 takes its processes with it.
 */
const started: AppProcess[] = [];
afterAll(async () => {
  for (const app of started.reverse()) await app.stop('SIGKILL');
});

const children = (pid: number): number[] => {
  try {
    return execFileSync('pgrep', ['-P', String(pid)]).toString().trim().split('\n').filter(Boolean).map(Number);
  } catch {
    return []; // pgrep exits 1 when there is none
  }
};
/** A request on a connection of its own (the primary hands each new connection to the next process). */
const fresh = (url: string, headers: Record<string, string> = {}) =>
  fetch(url, { headers: { Connection: 'close', ...headers }, signal: AbortSignal.timeout(30_000) });
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
/** tally_http_request_duration_seconds_count of /healthz 200s, summed over the lines /metrics returned. */
const healthzCount = (metrics: string) =>
  metrics
    .split('\n')
    .filter((l) => l.startsWith('tally_http_request_duration_seconds_count{') && l.includes('route="/healthz"') && l.includes('status="200"'))
    .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);

describe('several API processes on one port (API_PROCESSES)', () => {
  it('serves from every process, replaces a killed one, sums metrics and stops on SIGTERM', { timeout: 420_000 }, async () => {
    const { PUBLIC_URL: _shared, ...stackEnv } = inject('stackEnv');
    const api = await startApp('api', { ...stackEnv, API_PROCESSES: '2', LOG_LEVEL: 'info' }, 120_000);
    started.push(api);
    const primary = api.child.pid!;
    const workers = await eventually(async () => (children(primary).length === 2 ? children(primary) : null), 60_000);
    // both processes listening (each logs it once), so the connections below reach both
    await eventually(async () => api.output().split('"api listening"').length - 1 >= 2, 120_000);

    // new connections are handed out round-robin: each process answers some of them
    const sent = 40;
    for (let i = 0; i < sent; i++) {
      const res = await fresh(`${api.url}/healthz`);
      expect(res.status).toBe(200);
    }
    const metrics = await (await fresh(`${api.url}/metrics`, opsHeaders)).text();
    // one process alone would hold about half; the primary's sum holds them all
    expect(healthzCount(metrics)).toBeGreaterThanOrEqual(sent);

    // kill -9 one process: the primary starts a replacement, and the other answers meanwhile. (A connection
    // the primary hands over in the instant the process dies is lost with it: Node's cluster does not take
    // it back, so the client's timeout and retry cover it; from the primary's next look on, none goes there.)
    process.kill(workers[0]!, 'SIGKILL');
    const replaced = await eventually(async () => {
      const now = children(primary);
      return now.length === 2 && !now.includes(workers[0]!) ? now : null;
    }, 90_000);
    for (let i = 0; i < 10; i++) expect((await fresh(`${api.url}/healthz`)).status).toBe(200);
    await eventually(async () => {
      const answers = await Promise.all(Array.from({ length: 6 }, () => fresh(`${api.url}/readyz`).then((r) => r.status)));
      return answers.every((s) => s === 200);
    }, 90_000);

    // SIGTERM to the primary: every process shuts down gracefully and the primary exits 0
    const exited = new Promise<number | null>((resolve) => api.child.once('exit', (code) => resolve(code)));
    api.child.kill('SIGTERM');
    expect(await exited).toBe(0);
    await eventually(async () => replaced.every((pid) => !alive(pid)), 30_000);
  });

  it('a primary killed -9 takes its processes with it', { timeout: 300_000 }, async () => {
    const { PUBLIC_URL: _shared, ...stackEnv } = inject('stackEnv');
    const api = await startApp('api', { ...stackEnv, API_PROCESSES: '2' }, 120_000);
    started.push(api);
    const workers = await eventually(async () => (children(api.child.pid!).length === 2 ? children(api.child.pid!) : null), 60_000);
    await api.stop('SIGKILL');
    await eventually(async () => workers.every((pid) => !alive(pid)), 30_000);
  });

  it('refuses a bad setting once, before starting any process', async () => {
    const { PUBLIC_URL: _shared, ...stackEnv } = inject('stackEnv');
    await expect(startApp('api', { ...stackEnv, API_PROCESSES: 'many' }, 30_000)).rejects.toThrow(/API_PROCESSES/);
  });
});
