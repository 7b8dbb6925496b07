-- Revenue from credit packs by week (weeks start on Monday, UTC) and currency,
-- net of refunds, in minor currency units. Latest version of each purchase.
SELECT
  toMonday(completed) AS week,
  ccy AS currency,
  count() AS purchases,
  sum(amount) AS gross_minor,
  sum(refunded) AS refunds_minor,
  sum(amount - refunded) AS net_minor
FROM
(
  SELECT purchase_id,
         argMax(completed_at, version) AS completed,
         argMax(currency, version) AS ccy,
         argMax(amount_minor, version) AS amount,
         argMax(refunded_minor, version) AS refunded
  FROM {db}.credit_pack_purchases_v1
  WHERE tenant_id = {tenant_id}
  GROUP BY purchase_id
)
GROUP BY week, ccy
ORDER BY week, ccy;
