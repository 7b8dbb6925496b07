import type { ClickHouseClient } from './client.ts';
import { ident } from './sql.ts';

export interface BatchingWriterOptions {
  /** Flush when this many rows are buffered. */
  maxRows?: number;
  /** Flush at the latest this long after the first buffered row. */
  maxDelayMs?: number;
  onFlush?: (rows: number, ms: number) => void;
  onError?: (err: unknown, rows: number) => void;
}

interface Pending<T> {
  rows: T[];
  waiters: { resolve: () => void; reject: (err: unknown) => void }[];
}

/**
 * The one way rows reach ClickHouse: buffered and inserted in batches
 * (JSONEachRow), flushed on size, on time and on close. `write` resolves only
 * once the insert holding those rows succeeded, so a caller (a queue job) can
 * finish only when its rows are durable; when an insert fails every caller
 * in it gets the error and retries its own work. Inserts run one at a time.
 */
export class BatchingWriter<T extends Record<string, unknown>> {
  private pending: Pending<T> = { rows: [], waiters: [] };
  private timer: NodeJS.Timeout | null = null;
  private chain: Promise<void> = Promise.resolve();
  private readonly maxRows: number;
  private readonly maxDelayMs: number;
  private readonly table: string;

  constructor(
    private readonly client: ClickHouseClient,
    database: string,
    table: string,
    private readonly options: BatchingWriterOptions = {},
  ) {
    this.table = `${ident(database).text}.${ident(table).text}`;
    this.maxRows = options.maxRows ?? 10_000;
    this.maxDelayMs = options.maxDelayMs ?? 200;
  }

  write(rows: T[]): Promise<void> {
    if (rows.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.pending.rows.push(...rows);
      this.pending.waiters.push({ resolve, reject });
      if (this.pending.rows.length >= this.maxRows) void this.flush();
      else this.timer ??= setTimeout(() => void this.flush(), this.maxDelayMs);
    });
  }

  /** Inserts what is buffered now; resolves when every insert started so far has finished. */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const batch = this.pending;
    this.pending = { rows: [], waiters: [] };
    if (batch.rows.length > 0) {
      this.chain = this.chain.then(() => this.insert(batch));
    }
    return this.chain;
  }

  async close(): Promise<void> {
    await this.flush();
  }

  private async insert(batch: Pending<T>): Promise<void> {
    const started = performance.now();
    try {
      await this.client.insert({ table: this.table, values: batch.rows, format: 'JSONEachRow' });
      this.options.onFlush?.(batch.rows.length, performance.now() - started);
      for (const w of batch.waiters) w.resolve();
    } catch (err) {
      this.options.onError?.(err, batch.rows.length);
      for (const w of batch.waiters) w.reject(err);
    }
  }
}
