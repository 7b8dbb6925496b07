import { ident, insertText, queryRows, runCommand, sql, tsvField, type ClickHouseClient } from '@tally/clickhouse';

/**
 * Which of `ids` are already stored for the tenant (by live traffic or any
 * import), with the import that stored them ('' for live). The ids are staged
 * in ClickHouse under a per-attempt token and looked up with one IN
 * (subquery) against usage_event_ids_v1, ordered by (tenant_id, event_id).
 */
export async function findStoredIds(
  client: ClickHouseClient,
  database: string,
  tenantId: string,
  importId: string,
  attempt: string,
  ids: string[],
): Promise<Map<string, string>> {
  const stored = new Map<string, string>();
  if (ids.length === 0) return stored;
  const prefix = `${tsvField(importId)}\t${tsvField(attempt)}\t`;
  const body = ids.map((id) => `${prefix}${tsvField(id)}\n`).join('');
  await insertText(client, { database, table: 'import_staged_ids_v1', columns: ['import_id', 'attempt', 'event_id'] }, 'TabSeparated', body);
  const db = ident(database);
  const rows = await queryRows<{ event_id: string; import_id: string }>(
    client,
    sql`SELECT event_id, any(import_id) AS import_id FROM ${db}.usage_event_ids_v1
        WHERE tenant_id = ${tenantId}
          AND event_id IN (SELECT event_id FROM ${db}.import_staged_ids_v1 WHERE import_id = ${importId} AND attempt = ${attempt})
        GROUP BY event_id`,
  );
  for (const r of rows) stored.set(r.event_id, r.import_id);
  return stored;
}

/** Drops an import's staged ids (one partition per import). */
export async function dropStagedIds(client: ClickHouseClient, database: string, importId: string): Promise<void> {
  await runCommand(client, sql`ALTER TABLE ${ident(database)}.import_staged_ids_v1 DROP PARTITION ${importId}`);
}
