-- A report import claims event ids (packages/analytics/src/imports/id-claims.ts).
-- KEYS: seen:<current generation>, seen:<previous generation>, import-claims (one customer's hash tag)
-- ARGV: owner, seen expiry (ms), claims TTL (s), id digests...
-- Answers 1 per id this owner may store (claimed now, or by an earlier attempt of the same owner), 0 if taken.
local out = {}
local took = false
for i = 4, #ARGV do
  local d = ARGV[i]
  if redis.call('HGET', KEYS[3], d) == ARGV[1] then
    out[#out + 1] = 1
  elseif redis.call('HEXISTS', KEYS[1], d) == 1 or redis.call('HEXISTS', KEYS[2], d) == 1 then
    out[#out + 1] = 0
  else
    redis.call('HSET', KEYS[1], d, '*')
    redis.call('HSET', KEYS[3], d, ARGV[1])
    out[#out + 1] = 1
    took = true
  end
end
if took then
  redis.call('PEXPIREAT', KEYS[1], ARGV[2])
  redis.call('EXPIRE', KEYS[3], ARGV[3])
end
return out
