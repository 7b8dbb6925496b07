-- Top 10 features by credits burned over the last 30 days, with their credit system.
SELECT
  feature,
  credit_system,
  sum(credits_micro) AS credits_burned_micro,
  sum(value_micro) AS units_micro,
  sum(events) AS event_count
FROM {db}.usage_per_day_v1
WHERE tenant_id = {tenant_id}
  AND day >= today() - 30
GROUP BY feature, credit_system
HAVING event_count != 0
ORDER BY credits_burned_micro DESC, feature
LIMIT 10;
