import { once } from 'node:events';
import net from 'node:net';
import { config } from './stack.ts';

/**
 * A TCP proxy to the shared ClickHouse that a test can cut (`down`: every open
 * connection reset, the port closed) and restore (`up`), or hang (`pause`:
 * connections accepted, nothing forwarded) and `resume`, so one process sees
 * ClickHouse go away while the server itself stays up for everyone else.
 * `targetUrl` puts it in front of another TCP service (Postgres: bounded-waits).
 */
export async function clickhouseProxy(port: number, targetUrl = config.CLICKHOUSE_URL) {
  const target = new URL(targetUrl);
  const sockets = new Set<net.Socket>();
  let server: net.Server | null = null;
  // paused: connections are accepted and bytes taken, but nothing is forwarded (a hung ClickHouse)
  let paused = false;
  const held: (() => void)[] = [];
  const up = async () => {
    server = net.createServer((inbound) => {
      if (paused) {
        inbound.pause();
        held.push(() => forward(inbound));
        return;
      }
      forward(inbound);
    });
    server.listen(port, '127.0.0.1');
    await once(server, 'listening');
  };
  // bytes that arrived while paused, per direction, sent on resume
  const flushes = new Set<() => void>();
  const forward = (inbound: net.Socket) => {
    const outbound = net.connect(Number(target.port || 8123), target.hostname);
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => s.destroy());
    }
    const relay = (from: net.Socket, to: net.Socket) => {
      const queue: Buffer[] = [];
      const flush = () => {
        for (const chunk of queue.splice(0)) to.write(chunk);
      };
      flushes.add(flush);
      from.on('data', (chunk: Buffer) => (paused ? queue.push(chunk) : to.write(chunk)));
      from.on('end', () => to.end());
      from.on('close', () => flushes.delete(flush));
    };
    relay(inbound, outbound);
    relay(outbound, inbound);
    inbound.resume();
  };
  const down = async () => {
    const closed = new Promise((r) => server!.close(r));
    for (const s of sockets) s.destroy();
    await closed;
  };
  /** Hang: open connections stop forwarding, new ones are accepted and held. */
  const pause = () => {
    paused = true;
  };
  const resume = () => {
    paused = false;
    for (const flush of flushes) flush();
    for (const go of held.splice(0)) go();
  };
  await up();
  return { up, down, pause, resume };
}
