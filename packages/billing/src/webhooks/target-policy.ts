import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { z } from 'zod';
import { ValidationError } from '@tally/runtime';
import { blockedKind, type BlockedKind } from './target-address.ts';

/**
 * Where outbound webhooks may go (docs/security.md, "Webhook targets").
 * https only, and only to public addresses; both loosened by the deployment
 * alone: plain http for development (deploy/local sets WEBHOOK_ALLOW_HTTP),
 * private and loopback targets for the test stack's local receivers
 * (WEBHOOK_ALLOW_PRIVATE_TARGETS, never a default).
 */
export interface WebhookTargetPolicy {
  allowHttp: boolean;
  allowPrivateTargets: boolean;
}

export const STRICT_WEBHOOK_TARGETS: WebhookTargetPolicy = { allowHttp: false, allowPrivateTargets: false };

const flag = z
  .enum(['true', 'false', '1', '0'])
  .default('false')
  .transform((v) => v === 'true' || v === '1');

/** Merged into the API's and the workers' config schemas. */
export const webhookTargetsEnv = z.object({
  WEBHOOK_ALLOW_HTTP: flag,
  WEBHOOK_ALLOW_PRIVATE_TARGETS: flag,
});

/** For the app schemas' `superRefine`: a production process never delivers to private or loopback addresses. */
export function webhookTargetsRules(env: z.infer<typeof webhookTargetsEnv> & { NODE_ENV?: string }, ctx: z.RefinementCtx): void {
  if (env.NODE_ENV === 'production' && env.WEBHOOK_ALLOW_PRIVATE_TARGETS) {
    ctx.addIssue({
      code: 'custom',
      path: ['WEBHOOK_ALLOW_PRIVATE_TARGETS'],
      message: 'is for the test stack only: with NODE_ENV=production webhooks never go to private, loopback or metadata addresses',
    });
  }
}

export const webhookTargetPolicy = (env: z.infer<typeof webhookTargetsEnv>): WebhookTargetPolicy => ({
  allowHttp: env.WEBHOOK_ALLOW_HTTP,
  allowPrivateTargets: env.WEBHOOK_ALLOW_PRIVATE_TARGETS,
});

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

export const systemResolver: Resolver = async (hostname) =>
  (await dnsLookup(hostname, { all: true, verbatim: true })).map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));

/** Raised when a target is refused; `kind` is what the delivery log shows ("blocked"). */
export class BlockedTargetError extends Error {
  constructor(
    readonly hostname: string,
    readonly address: string,
    readonly kind: BlockedKind,
  ) {
    super(`${hostname === address ? address : `${hostname} resolves to ${address}`}, a ${kind} address`);
    this.name = 'BlockedTargetError';
  }
}

/** The URL's host as an address or a name: the WHATWG parser has already turned 2130706433, 0x7f.1 and 127.1 into 127.0.0.1. */
const hostOf = (url: URL) => (url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname);

/**
 * The addresses a delivery to `hostname` may connect to: every resolved
 * address must be public (one private answer among public ones is refused:
 * which one the socket picks is not ours to choose). Throws BlockedTargetError.
 */
export async function checkedAddresses(hostname: string, policy: WebhookTargetPolicy, resolve: Resolver = systemResolver): Promise<ResolvedAddress[]> {
  const version = isIP(hostname);
  const addresses: ResolvedAddress[] = version ? [{ address: hostname, family: version === 6 ? 6 : 4 }] : await resolve(hostname);
  if (policy.allowPrivateTargets) return addresses;
  for (const a of addresses) {
    const kind = blockedKind(a.address);
    if (kind) throw new BlockedTargetError(hostname, a.address, kind);
  }
  return addresses;
}

const refuse = (url: string, why: string) =>
  new ValidationError(`url ${url}: ${why}`, [{ path: 'url', message: `${url}: ${why}` }]);

/**
 * At registration: the scheme, credentials, and the addresses the name
 * resolves to now. A name that does not resolve (yet) is accepted; every
 * delivery checks again after resolving (target-fetch.ts), which is the check
 * that counts against DNS rebinding.
 */
export async function assertWebhookTarget(url: string, policy: WebhookTargetPolicy, resolve: Resolver = systemResolver): Promise<void> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw refuse(url, 'is not an absolute URL');
  }
  if (parsed.protocol !== 'https:' && !(parsed.protocol === 'http:' && policy.allowHttp)) {
    throw refuse(url, policy.allowHttp ? 'must be an http or https URL' : 'must be an https URL (this deployment does not allow plain http)');
  }
  if (parsed.username || parsed.password) throw refuse(url, 'must not carry credentials');
  try {
    await checkedAddresses(hostOf(parsed), policy, resolve);
  } catch (err) {
    if (err instanceof BlockedTargetError) throw refuse(url, `${err.message}; webhooks are delivered to public addresses only`);
    // ENOTFOUND and friends: checked again at delivery
  }
}

export { hostOf as webhookHostOf };
