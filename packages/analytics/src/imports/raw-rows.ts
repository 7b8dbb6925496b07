import { creditsFor, type CatalogSnapshot } from '@tally/core';
import { tsvRow } from '@tally/clickhouse';
import type { ImportEvent } from './event-line.ts';

/** Version of rows an import writes; a revert writes version + 1 with reverted = 1. */
export const IMPORT_ROW_VERSION = 1;

/** Columns of raw_usage_events_v1 a report import writes, in the order of `reportRow`. */
export const REPORT_COLUMNS = [
  'tenant_id', 'customer_id', 'feature', 'event_id', 'value_micro', 'credits_micro', 'credits_plan_micro', 'credits_purchased_micro',
  'credits_overage_micro', 'credit_system', 'plan', 'entity', 'properties', 'event_time', 'ingested_at', 'source', 'import_id', 'reverted', 'version',
] as const;

/**
 * A raw_usage_events_v1 row (TabSeparated, DateTime as unix seconds) for a
 * report-mode event. History does not debit balances, so no bucket split: the
 * credits the event cost at today's member price go to credits_micro (0 when
 * the feature is not in a credit system).
 */
export function reportRow(tenantId: string, importId: string, e: ImportEvent, catalog: CatalogSnapshot, ingestedSec: number): string {
  const system = catalog.features.get(e.feature)?.creditSystem ?? null;
  return tsvRow([
    tenantId,
    e.customer,
    e.feature,
    e.id,
    e.valueMicro,
    system ? creditsFor(e.valueMicro, system.costMicro) : 0n,
    0n,
    0n,
    0n,
    system?.slug ?? '',
    '',
    e.entity,
    e.properties,
    e.timeSec,
    ingestedSec,
    'import',
    importId,
    0,
    IMPORT_ROW_VERSION,
  ]);
}
