import { describe, expect, it } from 'vitest';
import type { UsageEventMessage } from '@tally/contracts';
import { fromMessage, liveEventMessage, toMessage } from './messages.ts';

const base: UsageEventMessage = {
  tenantId: 't-1',
  id: 'evt "1"\n',
  customer: 'cus\u2028é',
  feature: 'gpt-4',
  valueMicro: '1500000',
  timestamp: 1_700_000_000_000,
  acceptedAt: 1_700_000_000_123,
  entity: null,
  properties: { model: 'gpt-4o', n: 3, nested: { a: [1, null, 'x'] } },
  source: 'live',
};

describe('liveEventMessage', () => {
  it.each([
    ['with properties', base],
    ['without properties', { ...base, properties: undefined }],
    ['with an entity', { ...base, entity: 'seat "7"' }],
    ['with empty properties', { ...base, properties: {} }],
    ['without acceptedAt and entity', { ...base, acceptedAt: undefined, entity: undefined }],
    [
      'stamped with versions and priced terms',
      {
        ...base,
        catalogVersion: '12',
        customerVersion: '3',
        priced: { meter: 'ai "credits"', creditSystem: 'ai-credits', costMicro: '20000000', limitMicro: '-1', periodStartMs: 0, periodEndMs: 8_640_000_000_000_000, plan: 'pro' },
      },
    ],
  ])('%s: the same key and bytes as toMessage', (_name, m) => {
    expect(liveEventMessage(m)).toEqual(toMessage(m));
  });
});

describe('fromMessage', () => {
  it('reads back what both encoders write', () => {
    const debited = { ...base, source: 'check' as const, debited: { meter: 'ai-credits', planMicro: '1', purchasedMicro: '2', overageMicro: '0', appliedAt: 5 } };
    expect(fromMessage(liveEventMessage(base).value)).toEqual(base);
    expect(fromMessage(Buffer.from(toMessage(debited).value as string))).toEqual(debited);
  });

  it('refuses a value that is not a usage event', () => {
    expect(() => fromMessage('not json')).toThrow();
    expect(() => fromMessage(JSON.stringify({ ...base, valueMicro: 1.5 }))).toThrow();
    expect(() => fromMessage(null)).toThrow();
  });
});
