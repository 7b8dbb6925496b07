import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { bounded, DependencyUnavailableError } from '@tally/runtime';

export type { ClickHouseClient };

export interface ClickHouseConfig {
  url: string;
  database: string;
  username: string;
  password: string;
  /** Per-request timeout; long server-side jobs (bench fills) raise it. */
  requestTimeoutMs?: number;
}

/**
 * The official client over HTTP. Settings are kept to what the 18.16 server
 * understands (see ARCHITECTURE.md "ClickHouse versions").
 */
export function createClickHouse(config: ClickHouseConfig, database: string | null = config.database): ClickHouseClient {
  return withDependencyErrors(createClient({
    url: config.url,
    username: config.username,
    password: config.password,
    ...(database ? { database } : {}),
    request_timeout: config.requestTimeoutMs ?? 30_000,
    compression: { request: false, response: false },
  }));
}

/** The settings every app and test reads ClickHouse's connection from. */
export interface ClickHouseEnv {
  CLICKHOUSE_URL: string;
  CLICKHOUSE_DATABASE: string;
  CLICKHOUSE_USER: string;
  CLICKHOUSE_PASSWORD: string;
}

/** A client from the CLICKHOUSE_* settings (the process's configuration). */
export const clickHouseFromEnv = (env: ClickHouseEnv, database: string | null = env.CLICKHOUSE_DATABASE): ClickHouseClient =>
  createClickHouse({ url: env.CLICKHOUSE_URL, database: env.CLICKHOUSE_DATABASE, username: env.CLICKHOUSE_USER, password: env.CLICKHOUSE_PASSWORD }, database);

const CONNECTION_FAILURE = /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|EPIPE|socket hang up|Timeout error/i;

/** True when `err` means "ClickHouse could not be reached", as opposed to a bad query. */
export function isConnectionFailure(err: unknown): boolean {
  const e = err as { code?: string; message?: string } | null;
  return CONNECTION_FAILURE.test(`${e?.code ?? ''} ${e?.message ?? ''}`);
}

const BOUNDED_METHODS = new Set<PropertyKey>(['query', 'command', 'insert', 'exec']);

/**
 * The client behind a wrapper (the client object itself is left as it is):
 * every query, command, insert and exec runs within the request's budget, and
 * one that fails because the server cannot be reached throws
 * DependencyUnavailableError('clickhouse'), so callers and the HTTP edge
 * answer 503 (retry later) rather than 500. Every other member is the
 * client's own.
 */
export function withDependencyErrors(client: ClickHouseClient): ClickHouseClient {
  const wrapped = new Map<PropertyKey, (...args: unknown[]) => Promise<unknown>>();
  return new Proxy(client, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (!BOUNDED_METHODS.has(prop) || typeof value !== 'function') return typeof value === 'function' ? value.bind(target) : value;
      let method = wrapped.get(prop);
      if (!method) {
        const original = value as (...args: unknown[]) => Promise<unknown>;
        method = async (...args: unknown[]) => {
          try {
            // within a request, bounded by its budget (docs/operations.md "Budgets")
            return await bounded('clickhouse', () => original.apply(target, args));
          } catch (err) {
            throw isConnectionFailure(err) ? new DependencyUnavailableError('clickhouse', err) : err;
          }
        };
        wrapped.set(prop, method);
      }
      return method;
    },
  });
}

export const clickhouseProbe = (client: ClickHouseClient) => ({
  name: 'clickhouse',
  check: async () => {
    const ok = await client.ping();
    if (!ok.success) throw ok.error;
  },
});
