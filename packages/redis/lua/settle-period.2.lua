-- Settles the period of a meter that a rebuild left without one (lib/ledger.lua
-- period_unknown): its plan usage and overage in that period, read from
-- ClickHouse by the caller, provided no row of this customer was written
-- meanwhile. Rows still on their way do not matter for the allowance: while the
-- period is unknown only events without a period reach this meter, and under a
-- plan that does not meter it they take nothing from a plan allowance.
-- KEYS: 1 meter, 2 rows-written counter.
-- ARGV: 1 rows-written value read before ClickHouse ('' = none), 2 period start ms,
--       3 period end ms, 4 plan used (micro), 5 overage (micro).
-- Returns 1 when settled, 2 when already settled, 0 when the caller must read again.
if redis.call('HEXISTS', KEYS[1], 'period_unknown') == 0 then return 2 end
if (redis.call('GET', KEYS[2]) or '') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'period_start', ARGV[2], 'period_end', ARGV[3], 'used', ARGV[4], 'overage', ARGV[5])
redis.call('HDEL', KEYS[1], 'period_unknown')
return 1
