import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, mkdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The checkout this sim belongs to: its apps are the ones started (a second worktree runs its own code). */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export async function freePort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

/**
 * One API or workers process on a fixed port, so a kill -9 can be followed by
 * a restart that the other processes and the sim find at the same address.
 */
export class AppProcess {
  private child: ChildProcess | null = null;
  private tail = '';
  readonly url: string;
  /** Set while a kill's restart is on its way (faults.ts). */
  restarting: Promise<void> | null = null;

  constructor(readonly name: string, private readonly app: 'api' | 'workers', readonly port: number, private readonly env: Record<string, string>) {
    this.url = `http://127.0.0.1:${port}`;
  }

  async start(timeoutMs = 180_000): Promise<void> {
    const portVar = this.app === 'api' ? 'API_PORT' : 'WORKERS_PORT';
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, `apps/${this.app}/src/main.ts`)], {
      cwd: repoRoot,
      env: { ...process.env, LOG_LEVEL: process.env.SIM_LOG_LEVEL ?? 'warn', ...this.env, [portVar]: String(this.port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    const keep = (chunk: Buffer) => {
      this.tail = (this.tail + chunk.toString()).slice(-6000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    // SIM_LOG_DIR: every process's whole output, appended across its restarts (<name>.log), to read after a run
    const logDir = process.env.SIM_LOG_DIR;
    if (logDir) {
      mkdirSync(logDir, { recursive: true });
      const file = createWriteStream(path.join(logDir, `${this.name}.log`), { flags: 'a' });
      file.write(`--- ${new Date().toISOString()} start (pid ${child.pid})\n`);
      child.stdout?.pipe(file, { end: false });
      child.stderr?.pipe(file, { end: false });
      child.once('exit', (code, signal) => file.end(`--- ${new Date().toISOString()} exit ${code ?? signal}\n`));
    }
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${this.name} exited with ${child.exitCode}:\n${this.tail}`);
      try {
        if ((await fetch(`${this.url}/readyz`, { signal: AbortSignal.timeout(2000) })).ok) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`${this.name} not ready within ${timeoutMs} ms:\n${this.tail}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill(signal);
    await exited;
  }

  output(): string {
    return this.tail;
  }
}
