-- The request that wrote a strict-path pending message takes it back, before
-- undoing its debit (the publish failed): removed unless the outbox sweeper has
-- claimed it, in which case the sweeper publishes it and the debit must stay.
-- KEYS: 1 strict-pending. ARGV: 1 id digest.
-- Returns 1 when taken back (undo the debit), 0 when claimed or gone (keep it).
local v = redis.call('HGET', KEYS[1], ARGV[1])
if not v or string.sub(v, 1, 2) ~= '0|' then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
return 1
