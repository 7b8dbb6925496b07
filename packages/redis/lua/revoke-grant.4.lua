-- Removes what is still unspent of one grant and returns it (micro-credits).
-- An expired grant has nothing left to give back: its remainder was forfeited
-- at the instant it expired (docs/metering.md "Credits that expire"), so a
-- refund never pays for credits the customer could no longer spend.
-- The field stays (at 0) so re-applying the grant cannot bring it back, and the
-- amount revoked is kept beside it ('<grant>#revoked'): revoking again answers
-- the same amount, so a caller that crashed after this call and before
-- recording the amount (a refund) gets it back on its retry.
-- KEYS: 1 hydrated, 2 grants, 3 grant-order, 4 grant-expiry. ARGV: 1 grant id, 2 now ms.
-- Returns -1 when the state must be rebuilt first, else the amount revoked.
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local done = redis.call('HGET', KEYS[2], ARGV[1] .. '#revoked')
if done then return tonumber(done) end
local rem = redis.call('HGET', KEYS[2], ARGV[1])
if not rem then return 0 end
local exp = redis.call('HGET', KEYS[4], ARGV[1])
if exp and tonumber(exp) <= tonumber(ARGV[2]) then rem = '0' end
redis.call('HSET', KEYS[2], ARGV[1], '0')
redis.call('HSET', KEYS[2], ARGV[1] .. '#revoked', rem)
redis.call('ZREM', KEYS[3], ARGV[1])
return tonumber(rem)
