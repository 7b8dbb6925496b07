import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface AppProcess {
  name: string;
  child: ChildProcess;
  url: string;
  /** Last lines of the process output, for failure messages. */
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export async function freePort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  server.close();
  return port;
}

/**
 * Starts apps/<app>/src/main.ts as its own process (so tests can kill -9 it)
 * and waits until `readyPath` (default /readyz) answers 200.
 */
export async function startApp(
  app: 'api' | 'workers',
  env: Record<string, string>,
  timeoutMs = 60_000,
  readyPath = '/readyz',
): Promise<AppProcess> {
  const port = await freePort();
  const portVar = app === 'api' ? 'API_PORT' : 'WORKERS_PORT';
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, `apps/${app}/src/main.ts`)], {
    cwd: repoRoot,
    env: { ...process.env, LOG_LEVEL: 'warn', ...env, [portVar]: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let tail = '';
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString()).slice(-64_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${app} exited with ${child.exitCode}:\n${tail}`);
    try {
      const res = await fetch(`${url}${readyPath}`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${app} not ready within ${timeoutMs} ms:\n${tail}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    name: app,
    child,
    url,
    output: () => tail,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill(signal);
      await exited;
    },
  };
}
