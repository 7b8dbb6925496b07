import type { ClickHouseClient } from './client.ts';
import { isRefusedData, refusalReason } from './insert-errors.ts';
import { ident } from './sql.ts';

export interface BatchingWriterOptions<T> {
  /** Flush when this many rows are buffered. */
  maxRows?: number;
  /** Flush at the latest this long after the first buffered row. */
  maxDelayMs?: number;
  /** Rows inserted by one flush (a bisected flush reports its good rows). */
  onFlush?: (rows: number, ms: number) => void;
  /** An insert failed and the callers of `rows` rows get the error (they retry). */
  onError?: (err: unknown, rows: number) => void;
  /**
   * Stores rows ClickHouse refused for their content (see isRefusedData), with
   * the server's reason. When set, such a batch is bisected until each refused
   * row is alone; the good rows are inserted, the refused ones handed here,
   * and every caller's `write` resolves. If this sink throws, the callers of
   * those rows get its error instead (they retry; their good rows are stored).
   */
  deadLetter?: (rows: T[], reason: string) => Promise<void>;
}

interface Waiter {
  resolve: () => void;
  reject: (err: unknown) => void;
}

interface Pending<T> {
  rows: T[];
  /** owners[i]: the index in `waiters` of the caller that wrote rows[i]. */
  owners: number[];
  waiters: Waiter[];
}

interface Isolation<T> {
  inserted: number;
  refused: { index: number; row: T; reason: string }[];
  /** Rows not stored for a reason that is not their content, with that error. */
  failed: Map<number, unknown>;
  /** Set at the first such error: the rest of the bisection is not tried. */
  unavailable: unknown;
}

/**
 * Up to this many rows, the server parses a whole JSONEachRow insert into one
 * block (max_insert_block_size) before writing it, so an insert refused for
 * its data stored none of its rows and its halves can be inserted safely.
 * A bigger batch may have written its first blocks: it is not bisected.
 */
const MAX_BISECT_ROWS = 1_048_576;

const emptyPending = <T>(): Pending<T> => ({ rows: [], owners: [], waiters: [] });

/**
 * The one way rows reach ClickHouse: buffered and inserted in batches
 * (JSONEachRow), flushed on size, on time and on close. `write` resolves only
 * once those rows are durable - inserted, or (with `deadLetter`) refused by
 * ClickHouse and stored by the sink - so a caller (a queue job) can finish
 * only when its rows are safe. When an insert fails for any other reason
 * (unreachable, timeout) every caller in it gets the error and retries its
 * own work. Inserts run one at a time.
 */
export class BatchingWriter<T extends Record<string, unknown>> {
  private pending: Pending<T> = emptyPending();
  private timer: NodeJS.Timeout | null = null;
  private chain: Promise<void> = Promise.resolve();
  private readonly maxRows: number;
  private readonly maxDelayMs: number;
  private readonly table: string;

  constructor(
    private readonly client: ClickHouseClient,
    database: string,
    table: string,
    private readonly options: BatchingWriterOptions<T> = {},
  ) {
    this.table = `${ident(database).text}.${ident(table).text}`;
    this.maxRows = options.maxRows ?? 10_000;
    this.maxDelayMs = options.maxDelayMs ?? 200;
  }

  write(rows: T[]): Promise<void> {
    if (rows.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const owner = this.pending.waiters.push({ resolve, reject }) - 1;
      for (const row of rows) {
        this.pending.rows.push(row);
        this.pending.owners.push(owner);
      }
      if (this.pending.rows.length >= this.maxRows) void this.flush();
      else this.timer ??= setTimeout(() => void this.flush(), this.maxDelayMs);
    });
  }

  /** Inserts what is buffered now; resolves when every insert started so far has finished. */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const batch = this.pending;
    this.pending = emptyPending();
    if (batch.rows.length > 0) {
      this.chain = this.chain.then(() => this.insert(batch));
    }
    return this.chain;
  }

  async close(): Promise<void> {
    await this.flush();
  }

  private insertRows(rows: T[]): Promise<unknown> {
    return this.client.insert({ table: this.table, values: rows, format: 'JSONEachRow' });
  }

  private async insert(batch: Pending<T>): Promise<void> {
    const started = performance.now();
    try {
      await this.insertRows(batch.rows);
    } catch (err) {
      if (this.options.deadLetter && isRefusedData(err) && batch.rows.length <= MAX_BISECT_ROWS) {
        await this.isolateAndSettle(batch, err, started);
      } else {
        this.options.onError?.(err, batch.rows.length);
        for (const w of batch.waiters) w.reject(err);
      }
      return;
    }
    this.options.onFlush?.(batch.rows.length, performance.now() - started);
    for (const w of batch.waiters) w.resolve();
  }

  /** The batch was refused for its data: find the refused rows, store them, settle every caller. */
  private async isolateAndSettle(batch: Pending<T>, err: unknown, started: number): Promise<void> {
    const out: Isolation<T> = { inserted: 0, refused: [], failed: new Map(), unavailable: undefined };
    await this.isolate(batch.rows, 0, batch.rows.length, err, out);

    const byReason = new Map<string, { index: number; row: T }[]>();
    for (const r of out.refused) {
      const same = byReason.get(r.reason);
      if (same) same.push(r);
      else byReason.set(r.reason, [r]);
    }
    for (const [reason, refused] of byReason) {
      try {
        await this.options.deadLetter!(refused.map((r) => r.row), reason);
      } catch (sinkErr) {
        for (const r of refused) out.failed.set(r.index, sinkErr);
      }
    }

    if (out.inserted > 0) this.options.onFlush?.(out.inserted, performance.now() - started);
    const failedOwners = new Map<number, unknown>();
    for (const [index, e] of out.failed) if (!failedOwners.has(batch.owners[index]!)) failedOwners.set(batch.owners[index]!, e);
    if (out.failed.size > 0) this.options.onError?.(out.failed.values().next().value, out.failed.size);
    batch.waiters.forEach((w, owner) => (failedOwners.has(owner) ? w.reject(failedOwners.get(owner)) : w.resolve()));
  }

  /**
   * rows[from, to) were refused with `err`: insert each half; a half refused
   * again is split further, and a single row still refused is a dead letter.
   * One bad row among n costs about 2·log2(n) inserts.
   */
  private async isolate(rows: T[], from: number, to: number, err: unknown, out: Isolation<T>): Promise<void> {
    if (to - from === 1) {
      out.refused.push({ index: from, row: rows[from]!, reason: refusalReason(err) });
      return;
    }
    const mid = from + Math.ceil((to - from) / 2);
    for (const [a, b] of [[from, mid], [mid, to]] as const) {
      if (out.unavailable !== undefined) {
        for (let i = a; i < b; i++) out.failed.set(i, out.unavailable);
        continue;
      }
      try {
        await this.insertRows(rows.slice(a, b));
        out.inserted += b - a;
      } catch (e) {
        if (isRefusedData(e)) {
          await this.isolate(rows, a, b, e, out);
        } else {
          out.unavailable = e;
          for (let i = a; i < b; i++) out.failed.set(i, e);
        }
      }
    }
  }
}
