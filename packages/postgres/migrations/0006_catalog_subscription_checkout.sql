-- Paid plans go through checkout: a pending subscription remembers the checkout
-- reference the billing side hands back, and is activated by it exactly once.
ALTER TABLE subscriptions ADD COLUMN checkout_reference text;
ALTER TABLE subscriptions ADD COLUMN metadata jsonb NOT NULL DEFAULT '{}';
CREATE UNIQUE INDEX subscriptions_checkout_reference ON subscriptions (checkout_reference) WHERE checkout_reference IS NOT NULL;
