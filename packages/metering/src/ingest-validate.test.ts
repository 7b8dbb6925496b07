import { describe, expect, it } from 'vitest';
import { trackEventSchema } from '@tally/contracts';
import { creditsFit, creditsOverflowError, fastTrackEvent, parseTrackEvent } from './ingest-validate.ts';

const ok = { id: 'evt_1', customer: 'cus_1', feature: 'gpt-4' };
const long = (n: number) => 'x'.repeat(n);

const valid: unknown[] = [
  ok,
  { customer: 'c', feature: 'f' },
  { ...ok, value: 0 },
  { ...ok, value: 3 },
  { ...ok, value: 0.5 },
  { ...ok, value: 0.000001 },
  { ...ok, value: 9_007_199_254 },
  { ...ok, value: 1234.567891 },
  { ...ok, value: 1e-6 },
  { ...ok, timestamp: 1_700_000_000_000 },
  { ...ok, timestamp: 0 },
  { ...ok, timestamp: '2026-11-26T05:00:00Z' },
  { ...ok, timestamp: '2026-11-26T05:00:00.123Z' },
  { ...ok, timestamp: '2026-11-26T05:00:00+02:00' },
  { ...ok, entity: 'seat-1' },
  { ...ok, entity: '' },
  { ...ok, properties: {} },
  { ...ok, properties: { model: 'gpt-4o', region: 'eu', tokens: 12, nested: { a: [1, 2] } } },
  { ...ok, properties: { big: long(8 * 1024 - 20) } },
  { ...ok, unknownField: 1 },
  { ...ok, id: long(256), customer: long(256), feature: long(128), entity: long(256) },
  { ...ok, metadata: { a: 1 } },
  { ...ok, customerData: { email: 'a@example.com', name: 'A' } },
  JSON.parse('{"customer":"c","feature":"f","properties":{"__proto__":{"x":1}}}'),
  { customer: 'c', feature: 'f', properties: { é: 'ü'.repeat(4000) } },
  // well-formed pairs and other control characters are storable
  { ...ok, customer: 'emoji-\ud83d\ude00', properties: { '\ud83d\ude00': 'tab\there', nested: ['\u0001'] } },
  { ...ok, value: 9_007_199_254 },
];

const invalid: unknown[] = [
  null,
  undefined,
  42,
  'event',
  [ok],
  {},
  { ...ok, id: '' },
  { ...ok, id: 7 },
  { ...ok, id: long(257) },
  { ...ok, customer: '' },
  { ...ok, customer: undefined },
  { ...ok, customer: long(257) },
  { ...ok, feature: long(129) },
  { ...ok, feature: null },
  { ...ok, value: -1 },
  { ...ok, value: -0.5 },
  { ...ok, value: '1' },
  { ...ok, value: Number.NaN },
  { ...ok, value: Number.POSITIVE_INFINITY },
  { ...ok, value: 0.0000001 },
  { ...ok, value: 9_007_199_255 },
  { ...ok, value: 1e300 },
  { ...ok, value: null },
  { ...ok, timestamp: -1 },
  { ...ok, timestamp: 1.5 },
  { ...ok, timestamp: 2 ** 60 },
  { ...ok, timestamp: '2026-11-26' },
  { ...ok, timestamp: '2026-13-26T05:00:00Z' },
  { ...ok, timestamp: 'yesterday' },
  { ...ok, timestamp: null },
  { ...ok, entity: 5 },
  { ...ok, entity: long(257) },
  { ...ok, properties: null },
  { ...ok, properties: [1, 2] },
  { ...ok, properties: 'x' },
  { ...ok, properties: { big: long(8 * 1024) } },
  { customer: 'c', feature: 'f', properties: { é: 'ü'.repeat(4100) } },
  { ...ok, metadata: 'x' },
  { ...ok, customerData: { email: 'not-an-email' } },
  // above the stated limit (9007199254), fractions included
  { ...ok, value: 9_007_199_254.5 },
  { ...ok, value: 9_007_199_254.74099 },
  // text that cannot be stored: NUL bytes and lone surrogates, in every string, keys included
  { ...ok, customer: 'a\u0000b' },
  { ...ok, customer: 'sur\ud800x' },
  { ...ok, feature: 'f\udc00' },
  { ...ok, id: 'e\u0000' },
  { ...ok, entity: '\ud83d' },
  { ...ok, properties: { model: 'x\u0000' } },
  { ...ok, properties: { ['k\u0000']: 1 } },
  { ...ok, properties: { ['\udfff']: 'v' } },
  { ...ok, properties: { nested: { deep: ['ok', { v: '\ud800' }] } } },
  { ...ok, metadata: { note: '\u0000' } },
  { ...ok, customerData: { name: 'n\ud800' } },
];

describe('ingest event validation agrees with trackEventSchema', () => {
  it.each(valid.map((e, i) => [i, e]))('valid #%i: same data as the schema', (_i, event) => {
    const schema = trackEventSchema.safeParse(event);
    const ours = parseTrackEvent(event);
    expect(schema.success).toBe(true);
    expect(ours.success).toBe(true);
    expect(ours.success && ours.data).toStrictEqual(schema.success && schema.data);
  });

  it.each(invalid.map((e, i) => [i, e]))('invalid #%i: the schema\'s own error', (_i, event) => {
    const schema = trackEventSchema.safeParse(event);
    const ours = parseTrackEvent(event);
    expect(schema.success).toBe(false);
    expect(ours.success).toBe(false);
    expect(!ours.success && ours.error.issues).toEqual(!schema.success && schema.error.issues);
    expect(fastTrackEvent(event)).toBeNull();
  });

  it('takes the hand-written path for the usual event shapes', () => {
    expect(fastTrackEvent({ ...ok, value: 2, timestamp: Date.now(), properties: { model: 'gpt-4o' } })).not.toBeNull();
    expect(fastTrackEvent({ ...ok, timestamp: '2026-11-26T05:00:00Z', entity: 'e' })).not.toBeNull();
    expect(fastTrackEvent({ ...ok, customerData: { name: 'A' } })).toBeNull();
  });
});

describe('creditsFit: value x creditCost within the Lua ledger (integer micro-credits below 2^53)', () => {
  const MAX = 2n ** 53n - 1n;
  const MICRO = 1_000_000n;
  // creditsFor rounds half-up: floor((v*c + MICRO/2) / MICRO) <= MAX  <=>  v*c <= (MAX+1)*MICRO - MICRO/2 - 1
  const largestValue = (costMicro: bigint) => ((MAX + 1n) * MICRO - MICRO / 2n - 1n) / costMicro;

  it.each([1n, 1_500n, MICRO, 20n * MICRO, 5_000_000n * MICRO, 123_456_789n, MAX])('cost %s micro: the largest fitting value fits, one micro-unit more does not', (cost) => {
    const v = largestValue(cost);
    expect(creditsFit(v, cost)).toBe(true);
    expect(creditsFit(v + 1n, cost)).toBe(false);
  });

  it('the usual amounts fit; the contract maximum at 20 credits a unit does not', () => {
    expect(creditsFit(3n * MICRO, 20n * MICRO)).toBe(true);
    expect(creditsFit(0n, MAX)).toBe(true);
    expect(creditsFit(9_007_199_254n * MICRO, MICRO)).toBe(true);
    expect(creditsFit(9_007_199_254n * MICRO, 20n * MICRO)).toBe(false);
    expect(creditsOverflowError('gpt-4', 9_007_199_254n * MICRO, 20n * MICRO)).toEqual({
      code: 'credits_overflow',
      message: 'value: 9007199254 × creditCost 20 of gpt-4 exceeds what the ledger holds exactly (2^53 - 1 micro-credits)',
    });
  });
});
