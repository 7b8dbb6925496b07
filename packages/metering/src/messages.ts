import { usageEventMessageSchema, type PricedTerms, type UsageEventMessage } from '@tally/contracts';
import type { LogMessage } from '@tally/kafka';

/**
 * The one serializer of the usage-event Kafka message (schema
 * `usageEventMessageSchema` in @tally/contracts): its key, its encodings, its
 * decoding. Every producer and consumer of the events topic goes through here.
 */
export { usageEventMessageSchema };

/** Kafka key: one customer's events land in one partition, in order. */
export const eventKey = (tenantId: string, customer: string) => `${tenantId}:${customer}`;

/** Any event (a strict-path event with its `debited` split included): JSON.stringify of the message. */
export const toMessage = (m: UsageEventMessage): LogMessage => ({ key: eventKey(m.tenantId, m.customer), value: JSON.stringify(m) });

/** A message value off the topic; throws (zod or JSON error) when it is not a usage event. */
export const fromMessage = (value: Buffer | string | null | undefined): UsageEventMessage =>
  usageEventMessageSchema.parse(JSON.parse(value?.toString() ?? ''));

const q = JSON.stringify;

// the events of one batch share their terms object (IngestService.stamp): written once per batch
const pricedText = new WeakMap<PricedTerms, string>();
const pricedJson = (p: PricedTerms): string => {
  let text = pricedText.get(p);
  if (text === undefined) {
    text =
      `{"meter":${q(p.meter)},"creditSystem":${q(p.creditSystem)},"costMicro":"${p.costMicro}","limitMicro":"${p.limitMicro}"` +
      `,"periodStartMs":${p.periodStartMs},"periodEndMs":${p.periodEndMs},"plan":${q(p.plan)}}`;
    pricedText.set(p, text);
  }
  return text;
};

/**
 * `toMessage` for the ingest hot path: the same bytes as JSON.stringify of a
 * live event (same keys, same order), written field by field so the engine
 * does not walk the whole object per event. `messages.test.ts` checks it
 * against `toMessage`.
 */
export function liveEventMessage(m: UsageEventMessage): LogMessage {
  const value =
    `{"tenantId":${q(m.tenantId)},"id":${q(m.id)},"customer":${q(m.customer)},"feature":${q(m.feature)},"valueMicro":${q(m.valueMicro)}` +
    `,"timestamp":${q(m.timestamp)}` +
    (m.acceptedAt === undefined ? '' : `,"acceptedAt":${q(m.acceptedAt)}`) +
    (m.entity === undefined ? '' : `,"entity":${q(m.entity)}`) +
    (m.properties === undefined ? '' : `,"properties":${q(m.properties)}`) +
    `,"source":${q(m.source)}` +
    (m.catalogVersion === undefined ? '' : `,"catalogVersion":"${m.catalogVersion}"`) +
    (m.customerVersion === undefined ? '' : `,"customerVersion":"${m.customerVersion}"`) +
    (m.priced === undefined ? '' : `,"priced":${pricedJson(m.priced)}`) +
    '}';
  return { key: eventKey(m.tenantId, m.customer), value };
}
