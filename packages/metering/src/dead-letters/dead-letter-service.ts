import { deductJobSchema, type DeadLetterPage, type DeadLetterView, type DeadLettersQuery, type ReplayDeadLetterResult } from '@tally/contracts';
import type { EventProducer } from '@tally/kafka';
import { ValidationError } from '@tally/runtime';
import { meteringErrors } from '../errors.ts';
import type { DeadLetterRecord, DeadLetterRepo } from './dead-letter-repo.ts';
import type { RowInserter } from './row-inserter.ts';
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
  letters: Pick<DeadLetterRepo, 'list' | 'inTransaction'>;
  /** Where a replayed row is inserted again (ClickHouse). */
  rows: RowInserter;
  /** Where a replayed deduct payload's events are published again (the events topic); without it such a replay is refused. */
  events?: { producer: EventProducer; topic: string };
}

/** Lists a tenant's dead letters and inserts one again (GET /v1/dead-letters, POST /v1/dead-letters/:id/replay). */
export class DeadLetterService {
  constructor(private readonly deps: DeadLetterServiceDeps) {}

  async list(tenantId: string, query: DeadLettersQuery): Promise<DeadLetterPage> {
    const before = query.cursor === undefined ? null : decodeCursor(query.cursor);
    const rows = await this.deps.letters.list(tenantId, query.limit, before, query.state);
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
    const outcome = await this.deps.letters.inTransaction(async (tx) => {
      const letter = await tx.lock(tenantId, id);
      if (!letter) throw meteringErrors.dead_letter_not_found(`no dead letter ${id}`);
      if (letter.replayedAt) throw meteringErrors.dead_letter_already_replayed(`dead letter ${id} was replayed at ${letter.replayedAt.toISOString()}`);
      const parsed: unknown = JSON.parse(letter.rowText);
      if (letter.table === DEDUCT_PAYLOAD_TABLE) {
        const refused = await this.republish(tenantId, parsed);
        return { refused, letter: refused === null ? await tx.markReplayed(tenantId, id) : await tx.markFailed(tenantId, id, refused) };
      }
      const row = options.repair ? repairRow(parsed) : parsed;
      const refused = await this.deps.rows.insert(letter.table, row as Record<string, unknown>);
      if (refused !== null) return { refused, letter: await tx.markFailed(tenantId, id, refused) };
      return { refused: null, letter: await tx.markReplayed(tenantId, id) };
    });
    if (outcome.refused !== null) {
      const what = outcome.letter.table === DEDUCT_PAYLOAD_TABLE ? 'the payload was not replayed' : 'ClickHouse refused the row again';
      throw meteringErrors.dead_letter_refused(`${what}: ${outcome.refused}`, {
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
