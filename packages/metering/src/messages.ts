import type { UsageEventMessage } from '@tally/contracts';
import type { LogMessage } from '@tally/kafka';

/** Kafka key: one customer's events land in one partition, in order. */
export const eventKey = (tenantId: string, customer: string) => `${tenantId}:${customer}`;

export const toMessage = (m: UsageEventMessage): LogMessage => ({ key: eventKey(m.tenantId, m.customer), value: JSON.stringify(m) });
