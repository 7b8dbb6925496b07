import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { BlockedTargetError, checkedAddresses, systemResolver, webhookHostOf, type Resolver, type WebhookTargetPolicy } from './target-policy.ts';

/**
 * What the delivery log shows of an attempt: a class, never the target's body
 * or exact failing status, so the log cannot be used to probe what answers
 * where. `blocked` = the target resolved to a non-public address (nothing sent).
 */
export type DeliveryOutcomeClass = '2xx' | '3xx' | '4xx' | '5xx' | 'timeout' | 'refused' | 'blocked' | 'unresolved' | 'network_error';

export interface DeliveryOutcome {
  ok: boolean;
  /** The exact status, for a 2xx only. */
  status: number | null;
  outcome: DeliveryOutcomeClass;
  /** For Tally's own logs (never shown to the tenant). */
  detail: string;
}

export interface TargetRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
}

const classOf = (status: number): DeliveryOutcomeClass => (status < 300 ? '2xx' : status < 400 ? '3xx' : status < 500 ? '4xx' : '5xx');

function errorClass(err: NodeJS.ErrnoException): DeliveryOutcomeClass {
  if (err instanceof BlockedTargetError) return 'blocked';
  switch (err.code) {
    case 'ECONNREFUSED':
      return 'refused';
    case 'ETIMEDOUT':
    case 'ABORT_ERR':
      return 'timeout';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'ENODATA':
      return 'unresolved';
    default:
      return 'network_error';
  }
}

/**
 * POSTs one webhook. The socket connects to an address resolved and checked
 * here (the lookup hook), not to one the runtime resolves again later, so a
 * name that answers public for the check and 127.0.0.1 for the connection
 * (DNS rebinding) cannot get through. Redirects are not followed (node:http
 * never does); a 3xx is a failure.
 */
export async function postToTarget(req: TargetRequest, policy: WebhookTargetPolicy, resolve: Resolver = systemResolver): Promise<DeliveryOutcome> {
  let url: URL;
  try {
    url = new URL(req.url);
  } catch {
    return { ok: false, status: null, outcome: 'blocked', detail: 'not a URL' };
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && policy.allowHttp)) {
    return { ok: false, status: null, outcome: 'blocked', detail: `${url.protocol} not allowed` };
  }
  const host = webhookHostOf(url);
  let addresses;
  try {
    // literal IPs never reach the lookup hook, so they are checked here too
    addresses = await checkedAddresses(host, policy, resolve);
  } catch (err) {
    return { ok: false, status: null, outcome: errorClass(err as NodeJS.ErrnoException), detail: (err as Error).message };
  }
  const first = addresses[0];
  if (!first) return { ok: false, status: null, outcome: 'unresolved', detail: `${host} has no address` };
  // the checked address, whatever the name would resolve to by now
  const lookup: LookupFunction = (_hostname, options, callback) => {
    if (options.all) (callback as (e: null, a: Array<{ address: string; family: number }>) => void)(null, [first]);
    else callback(null, first.address, first.family);
  };
  const client = url.protocol === 'https:' ? https : http;
  return new Promise<DeliveryOutcome>((resolvePromise) => {
    const request = client.request(
      url,
      {
        method: 'POST',
        headers: { ...req.headers, 'Content-Length': Buffer.byteLength(req.body) },
        lookup,
        agent: false,
      },
      (res) => {
        res.resume(); // the body is never read into the log
        const status = res.statusCode ?? 0;
        const outcome = classOf(status);
        resolvePromise({ ok: outcome === '2xx', status: outcome === '2xx' ? status : null, outcome, detail: `HTTP ${status}` });
        request.destroy();
      },
    );
    // one deadline for connect, TLS and the answer's head
    const timer = setTimeout(() => request.destroy(Object.assign(new Error(`no answer within ${req.timeoutMs} ms`), { code: 'ETIMEDOUT' })), req.timeoutMs);
    request.on('close', () => clearTimeout(timer));
    request.on('error', (err: NodeJS.ErrnoException) => resolvePromise({ ok: false, status: null, outcome: errorClass(err), detail: err.message }));
    request.end(req.body);
  });
}
