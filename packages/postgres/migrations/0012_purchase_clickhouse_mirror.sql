-- The ClickHouse mirror of purchases (credit_pack_purchases_v1), driven from here:
-- mirror_version counts the states a purchase has to show in ClickHouse (1 once completed,
-- 2 once refunded); mirrored_version is the last one written there. Workers write every
-- purchase whose mirror_version > mirrored_version (packages/billing/src/purchases/purchase-mirror.ts),
-- so ClickHouse being down delays the mirror and loses nothing.
ALTER TABLE purchases
  ADD COLUMN IF NOT EXISTS mirror_version bigint NOT NULL DEFAULT 0,
  ADD COLUMN IF NOT EXISTS mirrored_version bigint NOT NULL DEFAULT 0;

-- Purchases completed or refunded before this migration are mirrored by the first sweep.
UPDATE purchases SET mirror_version = CASE status WHEN 'completed' THEN 1 ELSE 2 END
 WHERE status IN ('completed', 'refunded') AND mirror_version = 0;

-- A trigger rather than application code: every path that completes or refunds a purchase
-- (checkout worker, provider webhook, sweeper, refund) bumps the version in the same
-- transaction as the status, and the NOTIFY (sent on commit) wakes the mirror at once.
CREATE OR REPLACE FUNCTION purchases_mirror_bump() RETURNS trigger AS $$
BEGIN
  IF NEW.status IN ('completed', 'refunded') AND NEW.status IS DISTINCT FROM OLD.status THEN
    NEW.mirror_version := OLD.mirror_version + 1;
    PERFORM pg_notify('tally_purchase_mirror', '');
  END IF;
  RETURN NEW;
END;
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS purchases_mirror_bump ON purchases;
CREATE TRIGGER purchases_mirror_bump BEFORE UPDATE OF status ON purchases
  FOR EACH ROW EXECUTE FUNCTION purchases_mirror_bump();

-- What the mirror has left to write: small (empty when caught up), so each sweep is cheap.
CREATE INDEX IF NOT EXISTS purchases_mirror_pending ON purchases (tenant_id, id) WHERE mirror_version > mirrored_version;
