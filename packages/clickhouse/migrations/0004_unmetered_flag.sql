-- An event accepted while its feature was metered, whose feature was removed
-- (or made boolean) before it was applied and which carried no priced terms:
-- stored at 0 credits with unmetered = 1, never dropped (docs/metering.md).
ALTER TABLE {db}.raw_usage_events_v1 ADD COLUMN unmetered UInt8 DEFAULT 0
