import { describe, expect, it } from 'vitest';
import type { UsageEventMessage } from '@tally/contracts';
import { toMessage } from './messages.ts';
import { liveEventMessage } from './ingest-message.ts';

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
