-- An expired purchase's hosted checkout is also closed at its provider (Stripe: POST /v1/checkout/sessions/:id/expire),
-- after the expiry committed: the billing sweep retries until it succeeds and then stamps checkout_closed_at.
ALTER TABLE purchases ADD COLUMN IF NOT EXISTS checkout_closed_at timestamptz;
-- The sweep's scan for expired checkouts still open at their provider.
CREATE INDEX IF NOT EXISTS purchases_expired_checkout_open ON purchases (updated_at)
  WHERE status = 'expired' AND checkout_id IS NOT NULL AND checkout_closed_at IS NULL;
