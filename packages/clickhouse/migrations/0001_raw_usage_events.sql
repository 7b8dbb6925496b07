-- Every applied usage event, one row per event id. Amounts are Int64
-- micro-units (1 credit = 1,000,000). ReplacingMergeTree(version) collapses
-- re-inserted rows of the same event (crash replays) at merge time; queries
-- that must be exact before a merge read with FINAL or GROUP BY event_id.
-- A revert (imports) re-inserts the row with a higher version and reverted = 1.
-- ORDER BY leads with tenant and customer (per-customer queries, the common
-- case), then feature and time; the event id last makes the key unique.
CREATE TABLE IF NOT EXISTS {db}.raw_usage_events_v1 (
  tenant_id               String,
  customer_id             String,
  feature                 String,
  event_id                String,
  value_micro             Int64,
  credits_micro           Int64,
  credits_plan_micro      Int64,
  credits_purchased_micro Int64,
  credits_overage_micro   Int64,
  credit_system           String,
  plan                    String,
  entity                  String,
  properties              String,
  event_time              DateTime,
  ingested_at             DateTime,
  source                  String,
  import_id               String,
  reverted                UInt8,
  version                 UInt64
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(event_time)
ORDER BY (tenant_id, customer_id, feature, event_time, event_id);
