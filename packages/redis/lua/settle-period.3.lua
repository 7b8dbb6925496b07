-- Settles the period of a meter that a rebuild left without one (lib/ledger.lua
-- period_unknown): its plan usage and overage in that period, read from
-- ClickHouse by the caller, provided no row was written meanwhile and none is
-- still on its way (an applied event whose row ClickHouse does not have yet).
-- KEYS: 1 meter, 2 rows-written counter, 3 applied log.
-- ARGV: 1 rows-written value read before ClickHouse ('' = none), 2 period start ms,
--       3 period end ms, 4 plan used (micro), 5 overage (micro).
-- Returns 1 when settled, 2 when already settled, 0 when the caller must read again.
if redis.call('HEXISTS', KEYS[1], 'period_unknown') == 0 then return 2 end
if (redis.call('GET', KEYS[2]) or '') ~= ARGV[1] then return 0 end
if redis.call('HLEN', KEYS[3]) > 0 then return 0 end
redis.call('HSET', KEYS[1], 'period_start', ARGV[2], 'period_end', ARGV[3], 'used', ARGV[4], 'overage', ARGV[5])
redis.call('HDEL', KEYS[1], 'period_unknown')
return 1
