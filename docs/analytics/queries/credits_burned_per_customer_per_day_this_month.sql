-- Credits burned per customer per day, this month (UTC), from the daily rollup.
-- Amounts are micro-credits (Int64); divide by 1e6 only for display.
-- Aliases never reuse a column name: current ClickHouse rejects sum(x) AS x
-- when x is also read inside another aggregate.
SELECT
  customer_id,
  day,
  sum(credits_micro) AS credits_burned_micro,
  sum(events) AS event_count
FROM {db}.usage_per_day_v1
WHERE tenant_id = {tenant_id}
  AND day >= toStartOfMonth(today())
GROUP BY customer_id, day
HAVING event_count != 0
ORDER BY customer_id, day;
