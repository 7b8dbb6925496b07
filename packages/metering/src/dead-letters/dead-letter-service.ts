import { deductJobSchema, type DeadLetterPage, type DeadLetterView, type DeadLettersQuery, type ReplayDeadLetterResult } from '@tally/contracts';
import { ident, refusalReason, type ClickHouseClient } from '@tally/clickhouse';
import type { EventProducer } from '@tally/kafka';
import { withTransaction, type Pool } from '@tally/postgres';
import { AppError, DependencyUnavailableError, ValidationError, conflict, notFound } from '@tally/runtime';
import { DeadLetterRepo, type DeadLetterRecord } from './dead-letter-repo.ts';
import { repairRow } from './repair.ts';
import { DEDUCT_PAYLOAD_TABLE } from './deduct-payload.ts';
import { toMessage } from '../messages.ts';

export const deadLetterView = (r: DeadLetterRecord): DeadLetterView => ({
  id: r.id,
  table: r.table,
  row: r.rowText,
  reason: r.reason,
  attempts: r.attempts,
  lastError: r.lastError,
  createdAt: r.createdAt.toISOString(),
  replayedAt: r.replayedAt?.toISOString() ?? null,
});

// A cursor is the seq of the last row of a page, opaque to clients.
const CURSOR_PREFIX = 'dl1:';
export const encodeCursor = (seq: bigint) => Buffer.from(`${CURSOR_PREFIX}${seq}`).toString('base64url');
export function decodeCursor(cursor: string): bigint {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!text.startsWith(CURSOR_PREFIX) || !/^[1-9]\d{0,18}$/.test(text.slice(CURSOR_PREFIX.length))) {
    // the same answer as every other list's bad cursor: a validation_error naming `cursor`
    throw new ValidationError('invalid query', [{ path: 'cursor', message: 'not a cursor this list answered (pass nextCursor unchanged)' }]);
  }
  return BigInt(text.slice(CURSOR_PREFIX.length));
}

export interface DeadLetterServiceDeps {
  pool: Pool;
  clickhouse: ClickHouseClient;
  clickhouseDatabase: string;
  /** Where a replayed deduct payload's events are published again (the events topic); without it such a replay is refused. */
  events?: { producer: EventProducer; topic: string };
}

/** Lists a tenant's dead letters and inserts one again (GET /v1/dead-letters, POST /v1/dead-letters/:id/replay). */
export class DeadLetterService {
  private readonly repo: DeadLetterRepo;

  constructor(private readonly deps: DeadLetterServiceDeps) {
    this.repo = new DeadLetterRepo(deps.pool);
  }

  async list(tenantId: string, query: DeadLettersQuery): Promise<DeadLetterPage> {
    const before = query.cursor === undefined ? null : decodeCursor(query.cursor);
    const rows = await this.repo.list(tenantId, query.limit, before, query.state);
    const page = rows.slice(0, query.limit);
    const hasMore = rows.length > query.limit;
    return { success: true, deadLetters: page.map(deadLetterView), hasMore, nextCursor: hasMore ? encodeCursor(page[page.length - 1]!.seq) : null };
  }

  /**
   * Inserts the row again (repaired first when asked). The dead letter stays
   * locked from the read to the mark, so two replays of one row cannot both
   * insert it (the rollups would count it twice). ClickHouse refusing it again
   * keeps it, counts the attempt and answers 422 with the reason. A deduct
   * payload's letter (DEDUCT_PAYLOAD_TABLE) is published again instead.
   */
  async replay(tenantId: string, id: string, options: { repair: boolean }): Promise<ReplayDeadLetterResult> {
    const outcome = await withTransaction(this.deps.pool, async (tx) => {
      const letter = await this.repo.lock(tx, tenantId, id);
      if (!letter) throw notFound('dead_letter_not_found', `no dead letter ${id}`);
      if (letter.replayedAt) throw conflict('dead_letter_already_replayed', `dead letter ${id} was replayed at ${letter.replayedAt.toISOString()}`);
      const parsed: unknown = JSON.parse(letter.rowText);
      if (letter.table === DEDUCT_PAYLOAD_TABLE) {
        const refused = await this.republish(tenantId, parsed);
        return { refused, letter: refused === null ? await this.repo.markReplayed(tx, tenantId, id) : await this.repo.markFailed(tx, tenantId, id, refused) };
      }
      const row = options.repair ? repairRow(parsed) : parsed;
      try {
        await this.deps.clickhouse.insert({
          table: `${ident(this.deps.clickhouseDatabase).text}.${ident(letter.table).text}`,
          values: [row as Record<string, unknown>],
          format: 'JSONEachRow',
        });
      } catch (err) {
        if (err instanceof DependencyUnavailableError) throw err;
        const reason = refusalReason(err);
        return { refused: reason, letter: await this.repo.markFailed(tx, tenantId, id, reason) };
      }
      return { refused: null, letter: await this.repo.markReplayed(tx, tenantId, id) };
    });
    if (outcome.refused !== null) {
      const what = outcome.letter.table === DEDUCT_PAYLOAD_TABLE ? 'the payload was not replayed' : 'ClickHouse refused the row again';
      throw new AppError('dead_letter_refused', `${what}: ${outcome.refused}`, {
        status: 422,
        details: { reason: outcome.refused, attempts: outcome.letter.attempts, repaired: options.repair },
      });
    }
    return { success: true, repaired: options.repair, deadLetter: deadLetterView(outcome.letter) };
  }

  /**
   * A deduct payload set aside for failing validation: if it is valid now (a
   * deploy fixed the cause), its events go to the events topic again and
   * through the pipeline like any others (the ledger's event-id dedup applies
   * each once). Answers why not, or null once published.
   */
  private async republish(tenantId: string, payload: unknown): Promise<string | null> {
    const job = deductJobSchema.safeParse(payload);
    if (!job.success) return `still not a valid deduct payload: ${job.error.issues.slice(0, 5).map((i) => `${i.path.map(String).join('.')}: ${i.message}`).join('; ')}`;
    const events = job.data.customers.flatMap((g) => g.events);
    // filed under this tenant, so it may only publish this tenant's events
    if (job.data.customers.some((g) => g.tenantId !== tenantId) || events.some((e) => e.tenantId !== tenantId)) return 'the payload holds events of another tenant';
    if (!this.deps.events) return 'this process cannot publish events';
    await this.deps.events.producer.send(this.deps.events.topic, events.map(toMessage));
    return null;
  }
}

/**
 * The BatchingWriter `deadLetter` sink for one table: stores the refused rows
 * as JSON text under the tenant `tenantOf` reads from each row.
 */
export function deadLetterSink<T>(pool: Pool, table: string, tenantOf: (row: T) => string) {
  const repo = new DeadLetterRepo(pool);
  return (rows: T[], reason: string) =>
    repo.add(rows.map((row) => ({ tenantId: tenantOf(row), table, rowText: JSON.stringify(row), reason })));
}
