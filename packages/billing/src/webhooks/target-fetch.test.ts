import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postToTarget } from './target-fetch.ts';
import type { Resolver } from './target-policy.ts';

// A local target: answers with the status in the path (/302 redirects to /200).
const hits: string[] = [];
const server = http.createServer((req, res) => {
  hits.push(req.url ?? '');
  req.resume();
  const status = Number(req.url?.slice(1)) || 200;
  res.writeHead(status, status === 302 ? { Location: '/200' } : {}).end('the target body, never logged');
});
let port = 0;
beforeAll(async () => {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const to = (address: string): Resolver => async () => [{ address, family: 4 }];
const request = (url: string) => ({ url, headers: { 'Content-Type': 'application/json' }, body: '{}', timeoutMs: 5_000 });
const local = { allowHttp: true, allowPrivateTargets: true };

describe('postToTarget', () => {
  it('connects to the address it resolved and checked, never to one resolved again (a name that does not exist reaches 127.0.0.1 here)', async () => {
    hits.length = 0;
    const r = await postToTarget(request(`http://rebind.invalid:${port}/204`), local, to('127.0.0.1'));
    expect(r).toMatchObject({ ok: true, status: 204, outcome: '2xx' });
    expect(hits).toEqual(['/204']);
  });

  it('blocks a name resolving to loopback, and a decimal literal, without sending anything', async () => {
    hits.length = 0;
    const strict = { allowHttp: true, allowPrivateTargets: false };
    expect(await postToTarget(request(`http://rebind.invalid:${port}/200`), strict, to('127.0.0.1'))).toMatchObject({ ok: false, status: null, outcome: 'blocked' });
    expect(await postToTarget(request(`http://2130706433:${port}/200`), strict, to('93.184.216.34'))).toMatchObject({ ok: false, outcome: 'blocked' });
    expect(await postToTarget(request(`http://127.0.0.1:${port}/200`), { allowHttp: false, allowPrivateTargets: true })).toMatchObject({ ok: false, outcome: 'blocked' });
    expect(hits).toEqual([]);
  });

  it('does not follow redirects, and reports classes only', async () => {
    hits.length = 0;
    expect(await postToTarget(request(`http://127.0.0.1:${port}/302`), local)).toMatchObject({ ok: false, status: null, outcome: '3xx' });
    expect(hits).toEqual(['/302']);
    expect(await postToTarget(request(`http://127.0.0.1:${port}/404`), local)).toMatchObject({ ok: false, status: null, outcome: '4xx' });
    expect(await postToTarget(request(`http://127.0.0.1:${port}/503`), local)).toMatchObject({ ok: false, status: null, outcome: '5xx' });
    const closed = http.createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    expect(await postToTarget(request(`http://127.0.0.1:${closedPort}/`), local)).toMatchObject({ ok: false, outcome: 'refused' });
  });
});
