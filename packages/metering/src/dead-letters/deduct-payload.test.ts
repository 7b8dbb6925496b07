import { describe, expect, it } from 'vitest';
import type { UsageEventMessage } from '@tally/contracts';
import { checkDeductPayload, DEDUCT_PAYLOAD_TABLE } from './deduct-payload.ts';

const T1 = '6f1c7a3e-8d2b-4c1a-9e0f-1a2b3c4d5e6f';
const T2 = '0a9b8c7d-6e5f-4a3b-8c1d-0e9f8a7b6c5d';
const ev = (tenantId: string, valueMicro = '1000000'): UsageEventMessage => ({ tenantId, id: 'e1', customer: 'c', feature: 'f', valueMicro, timestamp: 1, source: 'live' });
const envelope = { topic: 't', partition: 3, firstOffset: '10', lastOffset: '12' };

describe('checkDeductPayload', () => {
  it('passes a valid payload through whole', () => {
    const job = { ...envelope, customers: [{ tenantId: T1, customer: 'c', events: [ev(T1)] }] };
    expect(checkDeductPayload(job)).toEqual({ job, letters: [], unattributed: [] });
  });

  it('sets an invalid group aside under its tenant and keeps the valid ones as the job', () => {
    const good = { tenantId: T1, customer: 'c', events: [ev(T1)] };
    const bad = { tenantId: T2, customer: 'c', events: [ev(T2, 'x')] };
    const out = checkDeductPayload({ ...envelope, customers: [good, bad] });
    expect(out.job).toEqual({ ...envelope, customers: [good] });
    expect(out.letters).toHaveLength(1);
    expect(out.letters[0]).toMatchObject({ tenantId: T2, table: DEDUCT_PAYLOAD_TABLE });
    expect(out.letters[0]!.reason).toMatch(/^invalid deduct payload: events\.0\.valueMicro/);
    expect(JSON.parse(out.letters[0]!.rowText)).toEqual({ ...envelope, customers: [bad] });
    expect(out.unattributed).toEqual([]);
  });

  it('sets every group aside when the envelope is invalid, and what names no tenant is unattributed', () => {
    const good = { tenantId: T1, customer: 'c', events: [ev(T1)] };
    const anonymous = { tenantId: 'not-a-uuid', customer: 'c', events: [] };
    const out = checkDeductPayload({ ...envelope, partition: -1, customers: [good, anonymous] });
    expect(out.job).toBeNull();
    expect(out.letters.map((l) => l.tenantId)).toEqual([T1]);
    expect(out.letters[0]!.reason).toMatch(/partition/);
    expect(out.unattributed).toEqual([anonymous]);
    expect(checkDeductPayload('garbage')).toEqual({ job: null, letters: [], unattributed: ['garbage'] });
    expect(checkDeductPayload({ ...envelope, customers: [] })).toMatchObject({ job: null, letters: [], unattributed: [{ ...envelope, customers: [] }] });
  });
});
