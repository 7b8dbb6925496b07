-- A credit pack may carry a validity: the credits a purchase grants expire this
-- many days after the grant (credit_grants.expires_at; docs/metering.md
-- "Credits that expire"). NULL = they never expire.
ALTER TABLE credit_packs ADD COLUMN IF NOT EXISTS expires_after_days integer CHECK (expires_after_days IS NULL OR expires_after_days > 0);
