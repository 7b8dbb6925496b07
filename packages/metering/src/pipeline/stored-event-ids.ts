import { inList, sql, type ClickHouseClient } from '@tally/clickhouse';

/** Which of a tenant's event ids already have their row in ClickHouse (usage_event_ids_v1). */
export interface StoredEventIds {
  stored(tenantId: string, eventIds: string[]): Promise<Set<string>>;
}

/** One query per call on the id index. */
export class ClickHouseStoredEventIds implements StoredEventIds {
  constructor(private readonly clickhouse: ClickHouseClient) {}

  async stored(tenantId: string, eventIds: string[]): Promise<Set<string>> {
    const query = sql`SELECT event_id FROM usage_event_ids_v1 WHERE tenant_id = ${tenantId} AND event_id IN (${inList(eventIds)})`.text;
    const res = await this.clickhouse.query({ query, format: 'JSONEachRow' });
    return new Set((await res.json<{ event_id: string }>()).map((row) => row.event_id));
  }
}
