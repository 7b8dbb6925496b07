import type { UsageEventMessage } from '@tally/contracts';

/** One row of raw_usage_events_v1 (ClickHouse migration 0001), as JSONEachRow. Int64 as strings, DateTime as unix seconds. */
export interface UsageRow extends Record<string, unknown> {
  tenant_id: string;
  customer_id: string;
  feature: string;
  event_id: string;
  value_micro: string;
  credits_micro: string;
  credits_plan_micro: string;
  credits_purchased_micro: string;
  credits_overage_micro: string;
  credit_system: string;
  plan: string;
  entity: string;
  properties: string;
  event_time: number;
  /** When the ledger applied the event (its period is decided by this instant). */
  ingested_at: number;
  source: string;
  import_id: string;
  reverted: number;
  /** The applied-at ms: a replayed row is identical, so ReplacingMergeTree keeps one. */
  version: number;
  /** 1: its feature was no longer metered when it was applied (stored at 0 credits; ClickHouse migration 0004). */
  unmetered: number;
  /** The grants its purchased credits came from and how much from each (parallel arrays; ClickHouse migration 0006). */
  grant_ids: string[];
  grant_takes: number[];
}

export interface GrantTake {
  grantId: string;
  micro: number;
}

/** The ledger's "grantId=amount=score,..." (takes_entry in packages/redis/lua/lib/ledger.lua). */
export function parseTakes(entry: string | null | undefined): GrantTake[] {
  if (!entry) return [];
  return entry.split(',').flatMap((part) => {
    const [grantId, amount] = part.split('=');
    return grantId && amount ? [{ grantId, micro: Number(amount) }] : [];
  });
}

export function usageRow(
  m: UsageEventMessage,
  split: { plan: number; purchased: number; overage: number },
  creditSystem: string,
  plan: string,
  appliedAtMs: number,
  unmetered = false,
  takes: GrantTake[] = [],
): UsageRow {
  return {
    tenant_id: m.tenantId,
    customer_id: m.customer,
    feature: m.feature,
    event_id: m.id,
    value_micro: m.valueMicro,
    credits_micro: String(split.plan + split.purchased + split.overage),
    credits_plan_micro: String(split.plan),
    credits_purchased_micro: String(split.purchased),
    credits_overage_micro: String(split.overage),
    credit_system: creditSystem,
    plan,
    entity: m.entity ?? '',
    properties: JSON.stringify(m.properties ?? {}),
    event_time: Math.floor(m.timestamp / 1000),
    ingested_at: Math.floor(appliedAtMs / 1000),
    source: m.source,
    import_id: m.importId ?? '',
    reverted: 0,
    version: appliedAtMs,
    unmetered: unmetered ? 1 : 0,
    grant_ids: takes.map((t) => t.grantId),
    grant_takes: takes.map((t) => t.micro),
  };
}
