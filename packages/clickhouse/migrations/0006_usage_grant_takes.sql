-- Which grants an event's purchased credits came from, and how much from each
-- (parallel arrays: ClickHouse 18.16 has no Map). The rebuild computes each
-- grant's remainder as credits - revoked - sum of its takes, so a grant that
-- expired with credits left is rebuilt exactly (docs/metering.md "Credits that
-- expire"). Rows written before this migration have empty arrays.
ALTER TABLE {db}.raw_usage_events_v1 ADD COLUMN grant_ids Array(String) DEFAULT emptyArrayString(), ADD COLUMN grant_takes Array(Int64) DEFAULT emptyArrayInt64()
