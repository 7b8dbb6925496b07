-- The outbox sweeper claims one strict-path pending message for republishing.
-- KEYS: 1 strict-pending, 2 applied log.
-- ARGV: 1 id digest, 2 now ms, 3 written-before ms (younger ones may still be in
--       their request), 4 claim lapse ms (a claim older than that: its sweeper died).
-- Returns {0} when dropped (its debit is not in the applied log: never made, undone,
-- or its row already written), {1, event json, log entry} when claimed,
-- {2, retry-at ms} when not yet (too young, or claimed by a live sweep), {3} when absent.
local v = redis.call('HGET', KEYS[1], ARGV[1])
if not v then return { 3 } end
local claimed, written, msg = string.match(v, '^(%d+)|(%d+)|(.*)$')
local now = tonumber(ARGV[2])
if tonumber(written) > tonumber(ARGV[3]) then return { 2, written } end
if tonumber(claimed) > 0 and tonumber(claimed) > now - tonumber(ARGV[4]) then return { 2, fmt(tonumber(claimed) + tonumber(ARGV[4])) } end
local log = redis.call('HGET', KEYS[2], ARGV[1])
if not log then
  redis.call('HDEL', KEYS[1], ARGV[1])
  return { 0 }
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. '|' .. written .. '|' .. msg)
return { 1, msg, log }
