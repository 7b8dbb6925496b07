import { once } from 'node:events';
import net from 'node:net';
import { config } from './stack.ts';

/**
 * A TCP proxy to the shared ClickHouse that a test can cut (`down`: every open
 * connection reset, the port closed) and restore (`up`), so one process sees
 * ClickHouse go away while the server itself stays up for everyone else.
 */
export async function clickhouseProxy(port: number) {
  const target = new URL(config.CLICKHOUSE_URL);
  const sockets = new Set<net.Socket>();
  let server: net.Server | null = null;
  const up = async () => {
    server = net.createServer((inbound) => {
      const outbound = net.connect(Number(target.port || 8123), target.hostname);
      for (const s of [inbound, outbound]) {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
        s.on('error', () => s.destroy());
      }
      inbound.pipe(outbound).pipe(inbound);
    });
    server.listen(port, '127.0.0.1');
    await once(server, 'listening');
  };
  const down = async () => {
    const closed = new Promise((r) => server!.close(r));
    for (const s of sockets) s.destroy();
    await closed;
  };
  await up();
  return { up, down };
}
