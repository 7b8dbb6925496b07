-- The credits a refund took back from the purchase (micro-credits; 0 until refunded), so
-- "credits left from purchases" can subtract them: bought − revoked − spent.
ALTER TABLE {db}.credit_pack_purchases_v1 ADD COLUMN revoked_micro Int64 DEFAULT 0
