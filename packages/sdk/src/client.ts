import { randomUUID } from 'node:crypto';
import type {
  AddonBody,
  AddonResult,
  AttachBody,
  AttachResult,
  CheckRequest,
  CheckResponse,
  CustomerDetailResult,
  CustomerResult,
  PlanView,
  SyncBody,
  SyncResult,
  TrackEventInput,
  TrackResult,
  UpsertCustomerBody,
} from '@tally/contracts';
import type { DeadLetterPage, DeadLettersQuery, ReplayDeadLetterResult } from '@tally/contracts';
import type { ApiKeyList, CreatedApiKey, RevokedApiKey, RotatedApiKey } from '@tally/contracts';
import type { RepairRollupsBody, RepairRollupsResult } from '@tally/contracts';
import type { SubscriptionChangeResult, SubscriptionsResult } from '@tally/contracts';
import type { CustomerBalancesResult, CustomerListResult } from '@tally/contracts';
import type { DeliveryPage, ImportListResult, PurchaseListResult, PurchaseView, RefundResultBody } from '@tally/contracts';
import { buildSyncBody } from './collect.ts';
import { KIND } from './dsl.ts';
import { TallyError } from './errors.ts';
import { usageQueryString, type UsageParams, type UsageResponse } from './usage.ts';

export interface TallyOptions {
  apiKey: string;
  /** Base URL of the Tally server, e.g. http://127.0.0.1:3000 (an Owostack app points `apiUrl` here). */
  apiUrl: string;
  /**
   * Retries after the first attempt (default 3; 0 = none): on 503, 429 and network errors for calls that are safe
   * to repeat (reads, and writes carrying an event id or Idempotency-Key, or idempotent by their nature); only on
   * 429 — refused before anything was done — for `attach`, `createApiKey`, `rotateApiKey`. No other status.
   */
  retries?: number;
  /** First backoff delay; doubles each retry, with jitter (default 200 ms). */
  backoffMs?: number;
  /** Per-attempt timeout (default 10 s). */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

type Optional<T, K extends keyof T> = Omit<T, K> & Partial<Pick<T, K>>;
export type CheckInput = Optional<CheckRequest, 'value' | 'sendEvent'>;
export type TrackInput = Optional<TrackEventInput, 'value'>;
export interface TrackAnswer {
  success: true;
  code: 'tracked';
  id: string;
  usage: number | null;
  limit: number | null;
  balance: number | null;
  resetsAt: string | null;
  resetInterval: string | null;
  credits: CheckResponse['credits'];
  details: { message: string; [k: string]: unknown };
}
export interface TrackBatchAnswer {
  success: true;
  accepted: number;
  duplicates: number;
  rejected: number;
  results: TrackResult[];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The answers that mean "the same request may succeed later": unavailable, and too many requests. */
const RETRY_STATUSES = new Set([429, 503]);
const MAX_RETRY_AFTER_MS = 30_000;

/** Retry-After in ms: delay-seconds or an HTTP date (RFC 9110); null when absent or unreadable. */
export function retryAfterMs(header: string | null, now = Date.now()): number | null {
  if (!header) return null;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

/**
 * Typed client for Tally's /v1 API. Calls that record something carry an id
 * generated once, before the first attempt, and reused on every retry — so a
 * retried track after a timeout is the same event, never a second one.
 */
export class Tally {
  private readonly apiUrl: string;
  private readonly retries: number;
  private readonly backoffMs: number;
  private readonly timeoutMs: number;
  private readonly fetchImpl: typeof fetch;

  constructor(private readonly options: TallyOptions) {
    if (!options.apiKey) throw new TypeError('Tally: apiKey is required');
    if (!options.apiUrl) throw new TypeError('Tally: apiUrl is required');
    this.apiUrl = options.apiUrl.replace(/\/+$/, '');
    this.retries = options.retries ?? 3;
    this.backoffMs = options.backoffMs ?? 200;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.fetchImpl = options.fetch ?? fetch;
  }

  /** May the customer use the feature (and, with sendEvent, debit it atomically)? */
  check(input: CheckInput): Promise<CheckResponse> {
    const body = input.sendEvent ? { ...input, id: input.id ?? randomUUID() } : input;
    return this.request('POST', '/v1/check', body);
  }

  track(input: TrackInput): Promise<TrackAnswer> {
    return this.request('POST', '/v1/track', { ...input, id: input.id ?? randomUUID() });
  }

  trackBatch(events: TrackInput[]): Promise<TrackBatchAnswer> {
    return this.request('POST', '/v1/track/batch', { events: events.map((e) => ({ ...e, id: e.id ?? randomUUID() })) });
  }

  /** Buy credit packs; the Idempotency-Key is fixed before the first attempt. */
  addon(input: AddonBody, options: { idempotencyKey?: string } = {}): Promise<AddonResult> {
    return this.request('POST', '/v1/addon', input, { 'Idempotency-Key': options.idempotencyKey ?? randomUUID() });
  }

  attach(input: AttachBody): Promise<AttachResult> {
    return this.request('POST', '/v1/attach', input, {}, false);
  }

  /** The customer's live plan (period end, pending cancel or downgrade) and its renewals, newest first. */
  subscriptions(customer: string): Promise<SubscriptionsResult> {
    return this.request('GET', `/v1/subscriptions${queryString({ customer })}`);
  }

  /** Cancel at the period end (a free plan ends at once); `resumeSubscription` undoes it before then. */
  cancelSubscription(input: { customer: string; product?: string }): Promise<SubscriptionChangeResult> {
    return this.request('POST', '/v1/subscriptions/cancel', input);
  }

  resumeSubscription(input: { customer: string; product?: string }): Promise<SubscriptionChangeResult> {
    return this.request('POST', '/v1/subscriptions/resume', input);
  }

  /** Create or update a customer (resolved by id, then email). */
  customer(input: UpsertCustomerBody): Promise<CustomerResult> {
    return this.request('POST', '/v1/customers', input);
  }

  getCustomer(id: string): Promise<CustomerDetailResult> {
    return this.request('GET', `/v1/customers/${encodeURIComponent(id)}`);
  }

  /** One page of customers, oldest first; pass the answer's nextCursor as `cursor` for the next. */
  listCustomers(params: { limit?: number; cursor?: string; search?: string } = {}): Promise<CustomerListResult> {
    return this.request('GET', `/v1/customers${queryString(params)}`);
  }

  /** One page of purchases, newest first, optionally one customer's or in one status; pass nextCursor back as `cursor`. */
  listPurchases(params: { limit?: number; cursor?: string; customer?: string; status?: string } = {}): Promise<PurchaseListResult> {
    return this.request('GET', `/v1/purchases${queryString(params)}`);
  }

  /** A purchase and where it stands, with its refund when there is one. */
  getPurchase(reference: string): Promise<PurchaseView> {
    return this.request('GET', `/v1/purchases/${encodeURIComponent(reference)}`);
  }

  /** Refund a completed purchase: unspent credits taken back, money back by the pack's refundPolicy; repeating answers the same. */
  refund(reference: string): Promise<RefundResultBody> {
    return this.request('POST', `/v1/purchases/${encodeURIComponent(reference)}/refund`, {});
  }

  /** One page of imports, newest first. */
  listImports(params: { limit?: number; cursor?: string } = {}): Promise<ImportListResult> {
    return this.request('GET', `/v1/imports${queryString(params)}`);
  }

  /** One page of a webhook endpoint's delivery log, newest first. */
  webhookDeliveries(endpointId: string, params: { limit?: number; cursor?: string } = {}): Promise<DeliveryPage> {
    return this.request('GET', `/v1/webhooks/endpoints/${encodeURIComponent(endpointId)}/deliveries${queryString(params)}`);
  }

  /** Balances per credit system, grants, purchases, subscriptions and the `events` newest raw events (default 20). */
  customerBalances(id: string, params: { events?: number } = {}): Promise<CustomerBalancesResult> {
    const qs = params.events !== undefined ? `?events=${params.events}` : '';
    return this.request('GET', `/v1/customers/${encodeURIComponent(id)}/balances${qs}`);
  }

  async plans(): Promise<PlanView[]> {
    return (await this.request<{ plans: PlanView[] }>('GET', '/v1/plans')).plans;
  }

  async plan(slug: string): Promise<PlanView> {
    return (await this.request<{ plan: PlanView }>('GET', `/v1/plans/${encodeURIComponent(slug)}`)).plan;
  }

  /** Usage analytics (GET /v1/usage): filters, group by, window in a time zone, aggregations. */
  usage(params: UsageParams = {}): Promise<UsageResponse> {
    return this.request('GET', `/v1/usage${usageQueryString(params)}`);
  }

  /** Usage rows ClickHouse refused (GET /v1/dead-letters), newest first; pass `nextCursor` back as `cursor`. */
  deadLetters(params: Partial<DeadLettersQuery> = {}): Promise<DeadLetterPage> {
    return this.request('GET', `/v1/dead-letters${queryString(params)}`);
  }

  /** Insert a refused row again; `repair` first replaces lone surrogates and NUL with U+FFFD. Refused again: TallyError 422. */
  replayDeadLetter(id: string, options: { repair?: boolean } = {}): Promise<ReplayDeadLetterResult> {
    return this.request('POST', `/v1/dead-letters/${encodeURIComponent(id)}/replay`, { repair: options.repair ?? false });
  }

  /** Recompute the rollups of whole UTC days [from, to) (YYYY-MM-DD) from the raw events (POST /v1/usage/repair). */
  repairRollups(range: RepairRollupsBody): Promise<RepairRollupsResult> {
    return this.request('POST', '/v1/usage/repair', range);
  }

  /** The same repair of any tenant by id, for the deployment's operator: this client's key must be the API's ADMIN_TOKEN. */
  repairTenantRollups(tenantId: string, range: RepairRollupsBody): Promise<RepairRollupsResult> {
    return this.request('POST', `/admin/tenants/${encodeURIComponent(tenantId)}/usage/repair`, range);
  }

  /** The tenant's API keys (GET /v1/api-keys), newest first, one page (default 100); never a secret. */
  apiKeys(params: { limit?: number; cursor?: string } = {}): Promise<ApiKeyList> {
    return this.request('GET', `/v1/api-keys${queryString(params)}`);
  }

  /** A new key of this tenant; its secret is in this answer only. */
  createApiKey(options: { name?: string } = {}): Promise<CreatedApiKey> {
    return this.request('POST', '/v1/api-keys', options.name === undefined ? {} : { name: options.name }, {}, false);
  }

  /** Revoke a key on every API process at once; the key this client uses cannot revoke itself (TallyError 409). */
  revokeApiKey(id: string): Promise<RevokedApiKey> {
    return this.request('DELETE', `/v1/api-keys/${encodeURIComponent(id)}`);
  }

  /** Replace a key with a new one (secret in the answer only); the old key keeps working for `overlapSeconds` (default 3600; 0 revokes it now). */
  rotateApiKey(id: string, options: { overlapSeconds?: number } = {}): Promise<RotatedApiKey> {
    return this.request('POST', `/v1/api-keys/${encodeURIComponent(id)}/rotate`, options.overlapSeconds === undefined ? {} : { overlapSeconds: options.overlapSeconds }, {}, false);
  }

  /** Push a catalog: a sync body, or DSL items (what a billing.config.ts exports). */
  sync(catalog: SyncBody | unknown[] | Record<string, unknown>, options: { dryRun?: boolean } = {}): Promise<SyncResult> {
    const body = isSyncBody(catalog) ? catalog : buildSyncBody(catalog);
    return this.request('POST', `/v1/sync${options.dryRun ? '?dryRun=true' : ''}`, body);
  }

  /**
   * `safeToRepeat` false: a 503 or a lost connection may come after the server did the work, so only a 429
   * (refused before any handler ran) is retried.
   */
  private async request<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}, safeToRepeat = true): Promise<T> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    for (let attempt = 0; ; attempt += 1) {
      let res: Response;
      try {
        res = await this.fetchImpl(this.apiUrl + path, {
          method,
          headers: {
            Authorization: `Bearer ${this.options.apiKey}`,
            Accept: 'application/json',
            ...(payload !== undefined ? { 'Content-Type': 'application/json' } : {}),
            ...headers,
          },
          body: payload,
          signal: AbortSignal.timeout(this.timeoutMs),
        });
      } catch (err) {
        if (safeToRepeat && attempt < this.retries) {
          await sleep(this.delay(attempt, null));
          continue;
        }
        throw new TallyError('network_error', `could not reach Tally at ${this.apiUrl}: ${(err as Error).message}`, 0);
      }
      if ((safeToRepeat ? RETRY_STATUSES.has(res.status) : res.status === 429) && attempt < this.retries) {
        await res.arrayBuffer().catch(() => undefined);
        await sleep(this.delay(attempt, res.headers.get('retry-after')));
        continue;
      }
      const text = await res.text();
      let parsed: unknown = null;
      try {
        parsed = text ? JSON.parse(text) : null;
      } catch {
        parsed = null;
      }
      if (res.ok) return parsed as T;
      const error = (parsed as { error?: { code?: string; message?: string } } | null)?.error;
      throw new TallyError(
        error?.code ?? `http_${res.status}`,
        error?.message ?? (text.slice(0, 200) || res.statusText),
        res.status,
        (error ?? {}) as Record<string, unknown>,
      );
    }
  }

  /** Exponential backoff with jitter; a server's Retry-After is a floor (capped at 30 s). */
  private delay(attempt: number, retryAfter: string | null): number {
    const exp = this.backoffMs * 2 ** attempt;
    const jittered = exp / 2 + Math.random() * (exp / 2);
    return Math.max(jittered, Math.min(retryAfterMs(retryAfter) ?? 0, MAX_RETRY_AFTER_MS));
  }
}

function isSyncBody(value: unknown): value is SyncBody {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return false;
  const v = value as Record<string | symbol, unknown>;
  if (v[KIND]) return false;
  return ['features', 'creditSystems', 'creditPacks', 'plans'].some((k) => Array.isArray(v[k]) && (v[k] as unknown[]).every((x) => !(x as Record<symbol, unknown>)?.[KIND]));
}

/** `?a=1&b=x` from the defined params ('' when none). */
function queryString(params: Record<string, string | number | boolean | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) q.set(k, String(v));
  const qs = q.toString();
  return qs ? `?${qs}` : '';
}
