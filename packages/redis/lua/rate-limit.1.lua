-- GCRA (generic cell rate algorithm) for one tenant and one route class, in one round trip.
-- KEYS[1] = the counter: the theoretical arrival time (TAT, µs since epoch) of the next unit.
-- ARGV[1] = emission interval in whole µs (1e6 / rate), ARGV[2] = burst capacity in units,
-- ARGV[3] = units this request costs (a batch costs its events).
-- Returns { allowed 0|1, remaining units, µs until this request could pass (0 when allowed),
--           µs until the full capacity is back }.
-- A refused request changes nothing: a batch is counted whole or not at all.
-- The clock is Redis's own TIME, so every API process counts against the same one.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local tolerance = interval * capacity

local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local next_tat = tat + interval * cost
local allow_at = next_tat - tolerance

if now < allow_at then
  local remaining = math.floor((tolerance - (tat - now)) / interval)
  return { 0, remaining, allow_at - now, tat - now }
end

-- '%.0f': tostring would print a 16-digit double in exponent form and lose the µs
redis.call('SET', KEYS[1], string.format('%.0f', next_tat), 'PX', math.ceil((next_tat - now) / 1000) + 1)
return { 1, math.floor((tolerance - (next_tat - now)) / interval), 0, next_tat - now }
