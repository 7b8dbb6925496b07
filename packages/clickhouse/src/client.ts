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

const CONNECTION_FAILURE = /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|EPIPE|socket hang up|Timeout error/i;

/** True when `err` means "ClickHouse could not be reached", as opposed to a bad query. */
export function isConnectionFailure(err: unknown): boolean {
  const e = err as { code?: string; message?: string } | null;
  return CONNECTION_FAILURE.test(`${e?.code ?? ''} ${e?.message ?? ''}`);
}

/**
 * Every query, command, insert and exec that fails because the server cannot
 * be reached throws DependencyUnavailableError('clickhouse'), so callers and
 * the HTTP edge answer 503 (retry later) rather than 500.
 */
function withDependencyErrors(client: ClickHouseClient): ClickHouseClient {
  for (const method of ['query', 'command', 'insert', 'exec'] as const) {
    const original = (client[method] as (...args: unknown[]) => Promise<unknown>).bind(client);
    (client as unknown as Record<string, unknown>)[method] = async (...args: unknown[]) => {
      try {
        // within a request, bounded by its budget (docs/operations.md "Budgets")
        return await bounded('clickhouse', () => original(...args));
      } catch (err) {
        throw isConnectionFailure(err) ? new DependencyUnavailableError('clickhouse', err) : err;
      }
    };
  }
  return client;
}

export const clickhouseProbe = (client: ClickHouseClient) => ({
  name: 'clickhouse',
  check: async () => {
    const ok = await client.ping();
    if (!ok.success) throw ok.error;
  },
});
