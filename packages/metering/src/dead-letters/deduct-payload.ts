import { deductJobSchema, type DeductJob } from '@tally/contracts';
import type { NewDeadLetter } from './dead-letter-repo.ts';

/**
 * The `table` of a dead letter that holds part of a deduct job payload that
 * failed validation (not a ClickHouse table: its replay publishes the events
 * again, see DeadLetterService.replay).
 */
export const DEDUCT_PAYLOAD_TABLE = 'deduct_job';

const groupSchema = deductJobSchema.shape.customers.element;
const envelopeSchema = deductJobSchema.pick({ topic: true, partition: true, firstOffset: true, lastOffset: true });
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const describe = (error: { issues: { path: PropertyKey[]; message: string }[] }) =>
  error.issues.slice(0, 5).map((i) => `${i.path.map(String).join('.') || '(payload)'}: ${i.message}`).join('; ');

export interface CheckedDeductPayload {
  /** The customer groups that are valid, as a job (null when none is, or the envelope itself is not). */
  job: DeductJob | null;
  /** The invalid groups, one dead letter each, filed under the tenant the group names. */
  letters: NewDeadLetter[];
  /** Invalid parts naming no tenant (no groups, or a tenant id that is not one): only logged. */
  unattributed: unknown[];
}

/**
 * Splits a deduct payload into what can be applied and what cannot: with a
 * valid envelope (topic, partition, offsets) each customer group is judged on
 * its own, so one bad group does not hold up the others; an invalid envelope
 * sets every group aside. Pure: the same payload always splits the same way,
 * so a retried job applies the same groups.
 */
export function checkDeductPayload(data: unknown): CheckedDeductPayload {
  const whole = deductJobSchema.safeParse(data);
  if (whole.success) return { job: whole.data, letters: [], unattributed: [] };
  const envelope = envelopeSchema.safeParse(data);
  const raw = (data ?? {}) as Record<string, unknown>;
  const meta = { topic: raw.topic, partition: raw.partition, firstOffset: raw.firstOffset, lastOffset: raw.lastOffset };
  const groups: unknown[] = Array.isArray(raw.customers) ? raw.customers : [];
  const valid: DeductJob['customers'] = [];
  const letters: NewDeadLetter[] = [];
  const unattributed: unknown[] = groups.length === 0 ? [data] : [];
  for (const group of groups) {
    const parsed = groupSchema.safeParse(group);
    if (envelope.success && parsed.success) {
      valid.push(parsed.data);
      continue;
    }
    const reason = `invalid deduct payload: ${describe(envelope.success ? parsed.error! : envelope.error)}`;
    const tenantId = (group as { tenantId?: unknown } | null)?.tenantId;
    if (typeof tenantId === 'string' && UUID.test(tenantId)) {
      letters.push({ tenantId, table: DEDUCT_PAYLOAD_TABLE, rowText: JSON.stringify({ ...meta, customers: [group] }), reason });
    } else {
      unattributed.push(group);
    }
  }
  const job = envelope.success && valid.length > 0 ? { ...envelope.data, customers: valid } : null;
  return { job, letters, unattributed };
}
