import { randomUUID } from 'node:crypto';
import { ident, insertTsvLines, queryRows, sql, type ClickHouseClient } from '@tally/clickhouse';
import { dropStagedIds, findStoredIds } from './dedup.ts';
import { REPORT_COLUMNS } from './raw-rows.ts';
import { revertImportRows } from './revert.ts';

/** The event store (raw_usage_events_v1 and its id index) as imports read and write it. */
export interface ImportEvents {
  /** Which of `ids` the tenant already has stored (live traffic or any import), with the import that stored them ('' for live). */
  storedIds(tenantId: string, importId: string, ids: string[]): Promise<Map<string, string>>;
  /** Frees what storedIds staged for an import. */
  dropStaged(importId: string): Promise<void>;
  /** Report-mode rows (raw-rows.ts reportRow lines), in one insert. */
  insertReportRows(lines: string[]): Promise<void>;
  /** How many distinct events of the import are stored. */
  storedEvents(tenantId: string, importId: string): Promise<number>;
  /** The customers the import's stored events belong to. */
  customersOf(tenantId: string, importId: string): Promise<string[]>;
  /** Marks every stored event of the import reverted (idempotent). */
  revert(tenantId: string, importId: string): Promise<void>;
}

/** ImportEvents over ClickHouse. */
export class ClickHouseImportEvents implements ImportEvents {
  constructor(
    private readonly client: ClickHouseClient,
    private readonly database: string,
  ) {}

  // each lookup stages its ids under a token of its own (dedup.ts)
  storedIds(tenantId: string, importId: string, ids: string[]): Promise<Map<string, string>> {
    return findStoredIds(this.client, this.database, tenantId, importId, randomUUID(), ids);
  }

  dropStaged(importId: string): Promise<void> {
    return dropStagedIds(this.client, this.database, importId);
  }

  insertReportRows(lines: string[]): Promise<void> {
    return insertTsvLines(this.client, { database: this.database, table: 'raw_usage_events_v1', columns: REPORT_COLUMNS }, lines);
  }

  async storedEvents(tenantId: string, importId: string): Promise<number> {
    const [row] = await queryRows<{ n: string }>(
      this.client,
      sql`SELECT uniqExact(event_id) AS n FROM ${ident(this.database)}.raw_usage_events_v1 WHERE tenant_id = ${tenantId} AND import_id = ${importId}`,
    );
    return Number(row?.n ?? 0);
  }

  async customersOf(tenantId: string, importId: string): Promise<string[]> {
    const rows = await queryRows<{ customer_id: string }>(
      this.client,
      sql`SELECT DISTINCT customer_id FROM ${ident(this.database)}.raw_usage_events_v1 WHERE tenant_id = ${tenantId} AND import_id = ${importId}`,
    );
    return rows.map((r) => r.customer_id);
  }

  revert(tenantId: string, importId: string): Promise<void> {
    return revertImportRows(this.client, this.database, tenantId, importId);
  }
}
