-- A plan entitlement may roll its unused allowance over (docs/metering.md
-- "Rollover"): at most rollover_max_micro per period, usable for
-- rollover_periods periods. Both NULL = no rollover.
ALTER TABLE plan_entitlements ADD COLUMN IF NOT EXISTS rollover_max_micro bigint CHECK (rollover_max_micro IS NULL OR rollover_max_micro > 0);
ALTER TABLE plan_entitlements ADD COLUMN IF NOT EXISTS rollover_periods integer CHECK (rollover_periods IS NULL OR rollover_periods BETWEEN 1 AND 12);
