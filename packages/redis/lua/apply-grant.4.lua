-- Adds a purchased grant once: applying the same grant id again changes nothing.
-- KEYS: 1 hydrated, 2 grants, 3 grant-order, 4 grant-expiry.
-- ARGV: 1 grant id, 2 credits (micro), 3 granted-at ms, 4 expires-at ms or ''.
-- The order score is computed here (order_score in lib/ledger.lua): oldest-expiring first.
-- Returns -1 when the state must be rebuilt first, 1 when added, 0 when already there.
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
if redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[2]) == 0 then return 0 end
local exp = nil
if ARGV[4] ~= '' then
  exp = ARGV[4]
  redis.call('HSET', KEYS[4], ARGV[1], exp)
end
redis.call('ZADD', KEYS[3], fmt(order_score(ARGV[3], exp)), ARGV[1])
return 1
