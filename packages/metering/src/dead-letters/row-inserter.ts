import { insertJsonLines, refusalReason, type ClickHouseClient } from '@tally/clickhouse';
import { DependencyUnavailableError } from '@tally/runtime';

/** Inserts one dead-lettered row into its table again. */
export interface RowInserter {
  /** null when stored; the store's reason when it refuses the row for its content. Throws when the store is down. */
  insert(table: string, row: Record<string, unknown>): Promise<string | null>;
}

/** Through @tally/clickhouse's one insert path: the row as one JSONEachRow line, as JSON.stringify writes it. */
export class ClickHouseRowInserter implements RowInserter {
  constructor(
    private readonly clickhouse: ClickHouseClient,
    private readonly database: string,
  ) {}

  async insert(table: string, row: Record<string, unknown>): Promise<string | null> {
    try {
      await insertJsonLines(this.clickhouse, { database: this.database, table }, [JSON.stringify(row)]);
      return null;
    } catch (err) {
      if (err instanceof DependencyUnavailableError) throw err;
      return refusalReason(err);
    }
  }
}
