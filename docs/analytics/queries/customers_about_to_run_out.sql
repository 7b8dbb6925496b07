-- Customers whose purchased credits will run out within 7 days at their
-- average burn of the last 7 days. Purchased credits come from completed
-- credit-pack purchases (credit_pack_purchases_v1, latest version per
-- purchase) less what refunds took back (revoked_micro); what was spent from
-- them is credits_purchased_micro of the raw events. Plan allowances reset each
-- period and are not counted here.
SELECT
  b.customer_id AS customer_id,
  b.credit_system AS credit_system,
  p.bought_micro - b.spent_micro AS remaining_micro,
  b.burn_7d_micro AS burn_7d_micro,
  round((p.bought_micro - b.spent_micro) / (b.burn_7d_micro / 7), 1) AS days_left
FROM
(
  SELECT customer_id, credit_system,
         sum(credits_purchased_micro) AS spent_micro,
         sum(if(day >= today() - 7, credits_micro, 0)) AS burn_7d_micro
  FROM {db}.usage_per_day_v1
  WHERE tenant_id = {tenant_id}
  GROUP BY customer_id, credit_system
) AS b
INNER JOIN
(
  SELECT customer_id, credit_system, sum(credits) AS bought_micro
  FROM
  (
    SELECT purchase_id, argMax(customer_id, version) AS customer_id, argMax(credit_system, version) AS credit_system,
           argMax(credits_micro - revoked_micro, version) AS credits
    FROM {db}.credit_pack_purchases_v1
    WHERE tenant_id = {tenant_id}
    GROUP BY purchase_id
  )
  GROUP BY customer_id, credit_system
) AS p
USING (customer_id, credit_system)
WHERE b.burn_7d_micro > 0
  AND (p.bought_micro - b.spent_micro) < b.burn_7d_micro
ORDER BY days_left, customer_id;
