-- The pack's display name as it was sold, for checkout pages and receipts
-- (purchases made before this column show their slug).
ALTER TABLE purchases ADD COLUMN IF NOT EXISTS pack_name text;
