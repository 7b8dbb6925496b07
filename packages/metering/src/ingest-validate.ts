import { z } from 'zod';
import { MAX_SAFE_MICRO, creditsFor, formatMicro, isExactAmount } from '@tally/core';
import { MAX_AMOUNT, findUnstorableText, propertiesJsonTooLarge, textProblem, trackEventSchema, type TrackEventInput } from '@tally/contracts';

/**
 * Per-event validation for the ingest hot path. `trackEventSchema` (zod) is
 * the contract; this checks the common shape by hand and accepts only what
 * the schema certainly accepts, producing the same data. Anything else
 * (errors, `metadata`, `customerData`, unusual objects) goes through the
 * schema itself, so every rejection carries zod's own error.
 * `ingest-validate.test.ts` holds the two to the same answers on a corpus.
 */
export type ParsedEvent = { success: true; data: TrackEventInput } | { success: false; error: z.ZodError };

const isoDateTime = z.iso.datetime({ offset: true });

/** A string of the right length that can be stored as it is (no NUL, no lone surrogate). */
const str = (v: unknown, min: number, max: number): v is string =>
  typeof v === 'string' && v.length >= min && v.length <= max && textProblem(v) === null;

function plainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/** The event, as the schema would output it, or null when the schema must decide. */
export function fastTrackEvent(raw: unknown): TrackEventInput | null {
  if (!plainObject(raw)) return null;
  const { id, customer, feature, value, timestamp, entity, properties } = raw;
  if (raw.metadata !== undefined || raw.customerData !== undefined) return null;
  if (id !== undefined && !str(id, 1, 256)) return null;
  if (!str(customer, 1, 256) || !str(feature, 1, 128)) return null;
  if (value !== undefined) {
    if (typeof value !== 'number' || !(value >= 0 && value <= MAX_AMOUNT)) return null;
    if (!Number.isInteger(value) && !isExactAmount(value)) return null;
  }
  if (timestamp !== undefined) {
    if (typeof timestamp === 'number') {
      if (!Number.isSafeInteger(timestamp) || timestamp < 0) return null;
    } else if (typeof timestamp !== 'string' || !isoDateTime.safeParse(timestamp).success) return null;
  }
  if (entity !== undefined && !str(entity, 0, 256)) return null;
  if (properties !== undefined) {
    if (!plainObject(properties) || Object.hasOwn(properties, '__proto__')) return null;
    let json: string;
    try {
      json = JSON.stringify(properties);
    } catch {
      return null;
    }
    if (propertiesJsonTooLarge(json)) return null;
    if (findUnstorableText(properties)) return null;
  }
  const out: TrackEventInput = { customer, feature, value: (value as number | undefined) ?? 1 };
  if (id !== undefined) out.id = id;
  if (timestamp !== undefined) out.timestamp = timestamp as string | number;
  if (entity !== undefined) out.entity = entity;
  if (properties !== undefined) out.properties = { ...properties };
  return out;
}

export function parseTrackEvent(raw: unknown): ParsedEvent {
  const fast = fastTrackEvent(raw);
  if (fast) return { success: true, data: fast };
  return trackEventSchema.safeParse(raw);
}

/**
 * True when the credits of `valueMicro` units at `costMicro` per unit (creditsFor) fit the Lua
 * ledger exactly: integer micro-credits below 2^53. An event that does not fit is rejected, never
 * debited with a rounded amount.
 */
export function creditsFit(valueMicro: bigint, costMicro: bigint): boolean {
  return creditsFor(valueMicro, costMicro) <= MAX_SAFE_MICRO;
}

/** The per-event rejection of an event whose credits do not fit (see creditsFit). */
export const creditsOverflowError = (feature: string, valueMicro: bigint, costMicro: bigint) => ({
  code: 'credits_overflow',
  message: `value: ${formatMicro(valueMicro)} × creditCost ${formatMicro(costMicro)} of ${feature} exceeds what the ledger holds exactly (2^53 - 1 micro-credits)`,
});
