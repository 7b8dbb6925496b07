-- A provider-side refund or dispute names only the charge: find its purchase without a scan.
CREATE INDEX IF NOT EXISTS purchases_charge ON purchases (provider, charge_id) WHERE charge_id IS NOT NULL;
