-- Applies one customer's events (from one Kafka batch) atomically.
-- KEYS: 1 hydrated, 2 seen (current generation), 3 seen (previous generation), 4 applied log,
--       then 4 per meter: meter, grants, grant-order, grant-expiry.
-- ARGV: 1 now ms, 2 seen expire-at ms, 3 meter count m, 4 writer token (job id), 5 row-claim ms,
--       then per meter: period start ms, period end ms, limit (-1 = unlimited), rollover terms
--       (read_rollover in lib/ledger.lua: max or -1, periods, id prefix, n, then n window start/end pairs),
--       then 5 per event: id digest, payload fingerprint, meter index (1-based), credits needed,
--       accepted-at ms (the instant grant expiry is judged at: docs/metering.md "Credits that expire").
-- Returns -1 alone when the customer's state must be rebuilt first, { -2, meter index } when
-- that meter's period must be settled first (lib/ledger.lua period_unknown); otherwise
-- 6 values per event: status (1 applied, 2 applied before and row not yet
-- confirmed: split from the log, 3 duplicate, 4 conflict, 5 applied before and
-- its row claimed by another job that is still within its claim), plan, purchased,
-- overage, applied-at ms, the takes from grants ("grantId=amount=score,...", '' for none);
-- then 2 per meter: plan left (-1 unlimited), purchased left (usable at `now`);
-- last, the value of the hydrated key (which state build these debits went into).
if redis.call('EXISTS', KEYS[1]) == 0 then return { -1 } end
local now = tonumber(ARGV[1])
local meters = tonumber(ARGV[3])
local token, claim_ms = ARGV[4], tonumber(ARGV[5])
local a = 6
local terms = {}
for i = 1, meters do
  local ps, pe, limit = tonumber(ARGV[a]), tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
  local ro
  ro, a = read_rollover(ARGV, a + 3)
  terms[i] = { ps, pe, limit, ro }
  -- before any change: the caller settles that meter's period and calls again
  if period_unknown(KEYS[4 + (i - 1) * 4 + 1], ps) then return { -2, i } end
end
for i = 1, meters do
  local b = 4 + (i - 1) * 4
  local t = terms[i]
  open_meter(KEYS[b + 1], t[1], t[2], t[3], KEYS[b + 2], KEYS[b + 3], t[4])
end

local lists = {}
local out = {}
local wrote = false
-- An id may come twice in one call (a batch redelivered together with its resend):
-- only its first occurrence can yield a row.
local in_call = {}
local i = a
while i + 4 <= #ARGV do
  local d, fp, mi, need, at = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2]), tonumber(ARGV[i + 3]), tonumber(ARGV[i + 4])
  i = i + 5
  local repeated = in_call[d]
  in_call[d] = true
  local state = seen_state(KEYS[2], KEYS[3], d, fp)
  local b = 4 + (mi - 1) * 4
  if repeated then
    for _, v in ipairs({ state == 2 and 4 or 3, 0, 0, 0, 0, '' }) do out[#out + 1] = v end
  elseif state == 0 then
    lists[mi] = lists[mi] or usable_grants(KEYS[b + 2], KEYS[b + 3], KEYS[b + 4])
    local p, g, o, takes = debit(KEYS[b + 1], KEYS[b + 2], KEYS[b + 3], lists[mi], need, at)
    local taken = takes_entry(takes)
    redis.call('HSET', KEYS[2], d, fp)
    -- the takes are kept with the split: a replay writes the same row (the rebuild sums them per grant)
    redis.call('HSET', KEYS[4], d, log_entry(p, g, o, now, KEYS[b + 1]), d .. '#g', taken)
    claim_row(KEYS[4], d, token, now, claim_ms)
    wrote = true
    for _, v in ipairs({ 1, p, g, o, now, taken }) do out[#out + 1] = v end
  elseif state == 1 then
    local log = read_log(KEYS[4], d)
    if log then
      local status = claim_row(KEYS[4], d, token, now, claim_ms) and 2 or 5
      local taken = redis.call('HGET', KEYS[4], d .. '#g') or ''
      for _, v in ipairs({ status, log[1], log[2], log[3], log[4], taken }) do out[#out + 1] = v end
    else
      for _, v in ipairs({ 3, 0, 0, 0, 0, '' }) do out[#out + 1] = v end
    end
  else
    for _, v in ipairs({ 4, 0, 0, 0, 0, '' }) do out[#out + 1] = v end
  end
end
if wrote then
  redis.call('PEXPIREAT', KEYS[2], ARGV[2])
  redis.call('EXPIRE', KEYS[4], LOG_TTL_SECONDS)
end
for m = 1, meters do
  local b = 4 + (m - 1) * 4
  out[#out + 1] = plan_left(KEYS[b + 1])
  out[#out + 1] = grants_total(usable_grants(KEYS[b + 2], KEYS[b + 3], KEYS[b + 4]), now)
end
out[#out + 1] = redis.call('GET', KEYS[1])
return out
