import { createClient, type ClickHouseClient } from '@clickhouse/client';

export type { ClickHouseClient };

export interface ClickHouseConfig {
  url: string;
  database: string;
  username: string;
  password: string;
}

/**
 * The official client over HTTP. Settings are kept to what the 18.16 server
 * understands (see ARCHITECTURE.md "ClickHouse versions").
 */
export function createClickHouse(config: ClickHouseConfig, database: string | null = config.database): ClickHouseClient {
  return createClient({
    url: config.url,
    username: config.username,
    password: config.password,
    ...(database ? { database } : {}),
    request_timeout: 30_000,
    compression: { request: false, response: false },
  });
}

export const clickhouseProbe = (client: ClickHouseClient) => ({
  name: 'clickhouse',
  check: async () => {
    const ok = await client.ping();
    if (!ok.success) throw ok.error;
  },
});
