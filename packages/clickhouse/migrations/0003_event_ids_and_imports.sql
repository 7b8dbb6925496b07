-- Every event id ever stored, keyed by id: the dedup index that imports check
-- before inserting (raw_usage_events_v1 is ordered by customer and time, so a
-- lookup by id alone would scan the tenant). Fed from the raw table, so live
-- traffic and imports share it. Reverted rows are indexed too: a reverted id
-- stays used (re-importing a reverted file does not bring it back silently;
-- it is reported as duplicate).
CREATE TABLE IF NOT EXISTS {db}.usage_event_ids_v1 (
  tenant_id  String,
  event_id   String,
  import_id  String,
  event_time DateTime
) ENGINE = ReplacingMergeTree
ORDER BY (tenant_id, event_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.usage_event_ids_mv_v1 TO {db}.usage_event_ids_v1 AS
SELECT tenant_id, event_id, import_id, event_time
FROM {db}.raw_usage_events_v1
WHERE reverted = 0;

-- Event ids of one import chunk attempt, staged so the dedup lookup runs as
-- one server-side IN (subquery) instead of a huge literal list. Rows are
-- small and are dropped with their import (partition per import).
CREATE TABLE IF NOT EXISTS {db}.import_staged_ids_v1 (
  import_id String,
  attempt   String,
  event_id  String
) ENGINE = MergeTree
PARTITION BY import_id
ORDER BY (import_id, attempt, event_id);

-- Completed credit-pack purchases mirrored from Postgres (billing calls
-- recordCreditPackPurchase in @tally/analytics), for revenue queries.
-- A purchase id is written once; a refund writes it again with a higher
-- version and refunded_minor set. Read with argMax(…, version) per purchase.
CREATE TABLE IF NOT EXISTS {db}.credit_pack_purchases_v1 (
  tenant_id      String,
  purchase_id    String,
  customer_id    String,
  pack           String,
  credit_system  String,
  quantity       UInt32,
  credits_micro  Int64,
  amount_minor   Int64,
  refunded_minor Int64,
  currency       String,
  provider       String,
  completed_at   DateTime,
  version        UInt64
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(completed_at)
ORDER BY (tenant_id, purchase_id);
