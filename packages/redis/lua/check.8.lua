-- check, and with send = 1 the strict path: decide and debit in one atomic step.
-- KEYS: 1 hydrated, 2 meter, 3 grants, 4 grant-order, 5 grant-expiry,
--       6 seen (current generation), 7 seen (previous generation), 8 applied log.
-- ARGV: 1 now ms, 2 seen expire-at ms, 3 period start ms, 4 period end ms, 5 limit (-1 unlimited),
--       6 credits needed, 7 overage charge (1/0), 8 send (1/0), 9 id digest, 10 payload fingerprint,
--       11.. rollover terms (read_rollover in lib/ledger.lua: max or -1, periods, id prefix, n, n windows).
-- Returns -1 alone when the state must be rebuilt first, -2 alone when the meter's period must be
-- settled first (lib/ledger.lua period_unknown); otherwise
-- { status (0 ok, 3 duplicate: already applied, 4 conflict), allowed (1/0), plan, purchased, overage,
--   used, limit, purchased left, overage this period, period start, period end }.
if redis.call('EXISTS', KEYS[1]) == 0 then return { -1 } end
local now = tonumber(ARGV[1])
local need = tonumber(ARGV[6])
local send = ARGV[8] == '1'
local ro = read_rollover(ARGV, 11)
if period_unknown(KEYS[2], tonumber(ARGV[3])) then return { -2 } end
open_meter(KEYS[2], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), KEYS[3], KEYS[4], ro)
-- a check is accepted when it runs: grants are judged at `now`
local list = usable_grants(KEYS[3], KEYS[4], KEYS[5])

local status, allowed, p, g, o = 0, 0, 0, 0, 0
if send then
  local state = seen_state(KEYS[6], KEYS[7], ARGV[9], ARGV[10])
  if state == 1 then
    status, allowed = 3, 1
    local log = read_log(KEYS[8], ARGV[9])
    if log then p, g, o = log[1], log[2], log[3] end
  elseif state == 2 then
    status = 4
  end
end

if status == 0 then
  local pl = plan_left(KEYS[2])
  if pl < 0 or need <= pl + grants_total(list, now) or ARGV[7] == '1' then allowed = 1 end
  if send and allowed == 1 then
    local takes
    p, g, o, takes = debit(KEYS[2], KEYS[3], KEYS[4], list, need, now)
    redis.call('HSET', KEYS[6], ARGV[9], ARGV[10])
    redis.call('PEXPIREAT', KEYS[6], ARGV[2])
    redis.call('HSET', KEYS[8], ARGV[9], log_entry(p, g, o, now, KEYS[2]), ARGV[9] .. '#g', takes_entry(takes))
    redis.call('EXPIRE', KEYS[8], LOG_TTL_SECONDS)
  end
end

local m = redis.call('HMGET', KEYS[2], 'used', 'limit', 'overage', 'period_start', 'period_end')
return { status, allowed, p, g, o, tonumber(m[1]), tonumber(m[2]), grants_total(list, now), tonumber(m[3]), tonumber(m[4]), tonumber(m[5]) }
