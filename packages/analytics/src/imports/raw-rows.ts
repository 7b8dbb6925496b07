import { creditsFor, type CatalogSnapshot } from '@tally/core';
import { jsonRow } from '../clickhouse-io.ts';
import type { ImportEvent } from './event-line.ts';

/** Version of rows an import writes; a revert writes version + 1 with reverted = 1. */
export const IMPORT_ROW_VERSION = 1;

/**
 * A raw_usage_events_v1 row for a report-mode event. History does not debit
 * balances, so no bucket split: the credits the event cost at today's member
 * price go to credits_micro (0 when the feature is not in a credit system).
 */
export function reportRow(tenantId: string, importId: string, e: ImportEvent, catalog: CatalogSnapshot, ingestedSec: number): string {
  const system = catalog.features.get(e.feature)?.creditSystem ?? null;
  return jsonRow({
    tenant_id: tenantId,
    customer_id: e.customer,
    feature: e.feature,
    event_id: e.id,
    value_micro: e.valueMicro,
    credits_micro: system ? creditsFor(e.valueMicro, system.costMicro) : 0n,
    credits_plan_micro: 0n,
    credits_purchased_micro: 0n,
    credits_overage_micro: 0n,
    credit_system: system?.slug ?? '',
    plan: '',
    entity: e.entity,
    properties: e.properties,
    event_time: e.timeSec,
    ingested_at: ingestedSec,
    source: 'import',
    import_id: importId,
    reverted: 0,
    version: IMPORT_ROW_VERSION,
  });
}
