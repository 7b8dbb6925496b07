-- Rollups of raw_usage_events_v1 per hour and per day, by tenant, customer,
-- feature and credit system, kept by materialized views.
--
-- Exactness: a materialized view sees every INSERT into the raw table, so the
-- rollups are exact when every (event, version) row is inserted once. Imports
-- guarantee that by checking event ids before inserting (usage_event_ids_v1);
-- a revert inserts the row again with reverted = 1 and a higher version, and
-- the views count such a row NEGATIVELY, so an event and its revert net out to
-- zero in every sum and count. SummingMergeTree adds rows of the same key at
-- merge time; readers still GROUP BY (rows of one key may not be merged yet).
-- An alias equal to a column name inside sum() is fine on 18.16 and current
-- ClickHouse (both resolve the column inside the aggregate); a subquery is not:
-- 18.16 cannot push an insert block through a view over a subquery.
CREATE TABLE IF NOT EXISTS {db}.usage_per_hour_v1 (
  tenant_id               String,
  customer_id             String,
  feature                 String,
  credit_system           String,
  hour                    DateTime,
  value_micro             Int64,
  credits_micro           Int64,
  credits_plan_micro      Int64,
  credits_purchased_micro Int64,
  credits_overage_micro   Int64,
  events                  Int64
) ENGINE = SummingMergeTree((value_micro, credits_micro, credits_plan_micro, credits_purchased_micro, credits_overage_micro, events))
PARTITION BY toYYYYMM(hour)
ORDER BY (tenant_id, hour, customer_id, feature, credit_system);

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.usage_per_hour_mv_v1 TO {db}.usage_per_hour_v1 AS
SELECT
  tenant_id,
  customer_id,
  feature,
  credit_system,
  toStartOfHour(event_time) AS hour,
  sum(if(reverted = 1, -value_micro, value_micro)) AS value_micro,
  sum(if(reverted = 1, -credits_micro, credits_micro)) AS credits_micro,
  sum(if(reverted = 1, -credits_plan_micro, credits_plan_micro)) AS credits_plan_micro,
  sum(if(reverted = 1, -credits_purchased_micro, credits_purchased_micro)) AS credits_purchased_micro,
  sum(if(reverted = 1, -credits_overage_micro, credits_overage_micro)) AS credits_overage_micro,
  sum(if(reverted = 1, toInt64(-1), toInt64(1))) AS events
FROM {db}.raw_usage_events_v1
GROUP BY tenant_id, customer_id, feature, credit_system, hour;

CREATE TABLE IF NOT EXISTS {db}.usage_per_day_v1 (
  tenant_id               String,
  customer_id             String,
  feature                 String,
  credit_system           String,
  day                     Date,
  value_micro             Int64,
  credits_micro           Int64,
  credits_plan_micro      Int64,
  credits_purchased_micro Int64,
  credits_overage_micro   Int64,
  events                  Int64
) ENGINE = SummingMergeTree((value_micro, credits_micro, credits_plan_micro, credits_purchased_micro, credits_overage_micro, events))
PARTITION BY toYYYYMM(day)
ORDER BY (tenant_id, day, customer_id, feature, credit_system);

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.usage_per_day_mv_v1 TO {db}.usage_per_day_v1 AS
SELECT
  tenant_id,
  customer_id,
  feature,
  credit_system,
  toDate(event_time) AS day,
  sum(if(reverted = 1, -value_micro, value_micro)) AS value_micro,
  sum(if(reverted = 1, -credits_micro, credits_micro)) AS credits_micro,
  sum(if(reverted = 1, -credits_plan_micro, credits_plan_micro)) AS credits_plan_micro,
  sum(if(reverted = 1, -credits_purchased_micro, credits_purchased_micro)) AS credits_purchased_micro,
  sum(if(reverted = 1, -credits_overage_micro, credits_overage_micro)) AS credits_overage_micro,
  sum(if(reverted = 1, toInt64(-1), toInt64(1))) AS events
FROM {db}.raw_usage_events_v1
GROUP BY tenant_id, customer_id, feature, credit_system, day;
