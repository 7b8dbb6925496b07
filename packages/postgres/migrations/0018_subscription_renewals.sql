-- Renewals (docs/billing.md "Subscriptions and renewals"). A paid subscription
-- remembers the end of the period it has paid for; at that instant the renewal
-- sweep records one renewal row per (subscription, period start) and charges it.
ALTER TABLE subscriptions DROP CONSTRAINT subscriptions_status_check;
ALTER TABLE subscriptions ADD CONSTRAINT subscriptions_status_check
  CHECK (status IN ('active', 'trialing', 'pending', 'past_due', 'canceled'));
-- End of the paid period (exclusive); NULL for free plans and rows from before renewals.
ALTER TABLE subscriptions ADD COLUMN current_period_end timestamptz;
-- Cancel at period end: no renewal at current_period_end, the subscription ends there.
ALTER TABLE subscriptions ADD COLUMN cancel_at_period_end boolean NOT NULL DEFAULT false;
-- Downgrade at period end: the plan the next period is charged and served with.
ALTER TABLE subscriptions ADD COLUMN scheduled_plan_id uuid REFERENCES plans(id);
DROP INDEX subscriptions_customer;
CREATE INDEX subscriptions_customer ON subscriptions (tenant_id, customer_id) WHERE status IN ('active', 'trialing', 'past_due');
CREATE INDEX subscriptions_renewal_due ON subscriptions (current_period_end) WHERE status IN ('active', 'trialing', 'past_due');

-- One row per charge of a subscription: a renewal (kind 'renewal', one per period start)
-- or the prorated charge of an upgrade (kind 'upgrade', one per new subscription).
--   pending --claim--> charging --succeeded--> succeeded
--                         \--declined--> retrying (next_attempt_at) --claim--> charging ...
--                         \--declined, no retry left--> failed (subscription past_due)
-- `attempt` is bumped when a claim starts a new attempt; the provider idempotency key is
-- tally_renewal_<id>_<attempt>, so a process that dies mid-charge and a resumer repeat the
-- same charge, and a retry after a decline is a new one.
CREATE TABLE subscription_renewals (
  id               uuid PRIMARY KEY,
  tenant_id        uuid NOT NULL REFERENCES tenants(id),
  subscription_id  uuid NOT NULL REFERENCES subscriptions(id),
  customer_id      text NOT NULL,
  kind             text NOT NULL CHECK (kind IN ('renewal', 'upgrade')),
  plan_id          uuid NOT NULL REFERENCES plans(id),
  plan_slug        text NOT NULL,
  period_start     timestamptz NOT NULL,
  period_end       timestamptz NOT NULL,
  amount_minor     bigint NOT NULL CHECK (amount_minor >= 0),
  currency         text NOT NULL,
  provider         text NOT NULL,
  status           text NOT NULL CHECK (status IN ('pending', 'charging', 'retrying', 'succeeded', 'failed')),
  attempt          integer NOT NULL DEFAULT 0,
  claimed_until    timestamptz,
  next_attempt_at  timestamptz,
  first_failed_at  timestamptz,
  payment_method_id uuid,
  charge_id        text,
  failure_code     text,
  failure_message  text,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  completed_at     timestamptz,
  UNIQUE (subscription_id, kind, period_start)
);
CREATE INDEX subscription_renewals_customer ON subscription_renewals (tenant_id, customer_id, created_at DESC);
CREATE INDEX subscription_renewals_open ON subscription_renewals (status, next_attempt_at) WHERE status IN ('pending', 'charging', 'retrying');
