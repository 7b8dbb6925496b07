-- A purchase awaiting payment past PURCHASE_EXPIRY_SECONDS becomes 'expired' (final: a late payment grants nothing).
-- The auto-top-up in-flight index lists its statuses explicitly, so an expired top-up frees the slot.
ALTER TABLE purchases DROP CONSTRAINT IF EXISTS purchases_status_check;
ALTER TABLE purchases ADD CONSTRAINT purchases_status_check
  CHECK (status IN ('pending', 'charging', 'awaiting_payment', 'paid', 'completed', 'failed', 'refunded', 'expired'));
-- The sweeper's scan for overdue checkouts.
CREATE INDEX IF NOT EXISTS purchases_awaiting_payment ON purchases (created_at) WHERE status = 'awaiting_payment';
