-- Shared by the scripts that debit a meter (prepended by packages/redis/src/scripts.ts).
-- Amounts are integer micro-units below 2^53, exact in Lua's doubles; fmt()
-- writes them back as plain integers (never "1e+15").
local function fmt(n)
  return string.format('%.0f', n)
end

-- Rollover (docs/metering.md "Rollover"): `ro` = nil, or { max, periods, prefix,
-- windows = { {start, end}, ... } } - the periods before the new one that can
-- still give a carry (at most `periods`, oldest first, none before the
-- subscription's anchor). A carry is a grant '<prefix><window start>' spent
-- before the plan allowance; its remaining life in periods is the meter field
-- 'life:<id>', counted down at each turn; at 0 the grant is removed.
local function rollover_turn(m, g, o, stored, limit, ro)
  local old = redis.call('HMGET', m, 'limit', 'used')
  local old_limit, old_used = tonumber(old[1] or '-1'), tonumber(old[2] or '0')
  local n = #ro.windows
  -- periods crossed from the stored one to the new one (n + 1 covers "older than every window")
  local crossed = n + 1
  for idx, w in ipairs(ro.windows) do
    if w[1] <= stored and stored < w[2] then crossed = n - idx + 1 end
  end
  local fields = redis.call('HGETALL', m)
  for i = 1, #fields, 2 do
    local f = fields[i]
    if string.sub(f, 1, 5) == 'life:' then
      local id = string.sub(f, 6)
      local life = tonumber(fields[i + 1]) - crossed
      if life <= 0 then
        redis.call('HDEL', m, f)
        redis.call('HDEL', g, id)
        redis.call('ZREM', o, id)
      else
        redis.call('HSET', m, f, fmt(life))
      end
    end
  end
  for idx, w in ipairs(ro.windows) do
    local unused = -1
    if w[1] <= stored and stored < w[2] then
      if old_limit >= 0 then unused = old_limit - old_used end
    elseif w[1] > stored then
      -- a period without any event: its whole allowance was unused
      if limit >= 0 then unused = limit end
    end
    if unused > 0 then
      local carry = unused
      if carry > ro.max then carry = ro.max end
      local id = ro.prefix .. fmt(w[1])
      if redis.call('HSETNX', g, id, fmt(carry)) == 1 then
        redis.call('ZADD', o, fmt(w[1]), id)
        redis.call('HSET', m, 'life:' .. id, fmt(ro.periods - (n - idx)))
      end
    end
  end
end

-- Rollover terms from ARGV starting at `i`: max (-1 = none), periods, id prefix,
-- window count n, then n pairs start, end. Returns the terms (nil when none) and the next index.
local function read_rollover(argv, i)
  if argv[i] == nil then return nil, i end
  local max, periods, prefix, n = tonumber(argv[i]), tonumber(argv[i + 1]), argv[i + 2], tonumber(argv[i + 3])
  local windows = {}
  for k = 1, n do windows[k] = { tonumber(argv[i + 2 + 2 * k]), tonumber(argv[i + 3 + 2 * k]) } end
  local nxt = i + 4 + 2 * n
  if max < 0 then return nil, nxt end
  return { max = max, periods = periods, prefix = prefix, windows = windows }, nxt
end

-- Lazy period reset: the caller passes the period an event was accepted in;
-- when it is newer than the stored one the meter starts afresh (after the
-- rollover of the closed periods, when the entitlement has one). The limit
-- follows the plan the event was accepted under.
-- A rebuild made while the customer's plan gave this meter no period (docs/metering.md
-- "Rebuild") cannot know the period the live ledger had open; the first event with a
-- period makes the caller settle it from ClickHouse (Rebuilder.settlePeriod) and retry.
local function period_unknown(m, ps)
  return ps > 0 and redis.call('HEXISTS', m, 'period_unknown') == 1
end

local function open_meter(m, ps, pe, limit, g, o, ro)
  local stored = tonumber(redis.call('HGET', m, 'period_start') or '-1')
  if stored < ps then
    if ro and stored >= 0 then rollover_turn(m, g, o, stored, limit, ro) end
    redis.call('HSET', m, 'period_start', fmt(ps), 'period_end', fmt(pe), 'used', '0', 'overage', '0', 'limit', fmt(limit))
  else
    -- Same period, or an older start: a plan whose meter never resets (start 0),
    -- or an event accepted just before a boundary that has passed since; it is
    -- charged to the open period under its own plan's limit (the next event's
    -- call sets the limit it was accepted under again).
    redis.call('HSET', m, 'limit', fmt(limit))
  end
end

-- Plan allowance left this period; -1 = unlimited.
local function plan_left(m)
  local v = redis.call('HMGET', m, 'limit', 'used')
  local limit = tonumber(v[1] or '0')
  if limit < 0 then return -1 end
  local left = limit - tonumber(v[2] or '0')
  if left < 0 then left = 0 end
  return left
end

-- Spending order score (packages/core/src/consumption.ts spendingScore): grants
-- with an expiry by expires-at ms, then grants without one by granted-at ms
-- plus this offset; equal scores by grant id (the sorted set's own tie-break).
local NO_EXPIRY_OFFSET = 10000000000000

local function order_score(granted_ms, exp)
  if exp then return tonumber(exp) end
  return NO_EXPIRY_OFFSET + tonumber(granted_ms)
end

-- A rollover grant (id 'ro:...'): scored by the start of the period it came from, never rescored.
local function is_rollover(id)
  return string.sub(id, 1, 3) == 'ro:'
end

-- Unspent grants in spending order, as { id, remaining, expires-at ms or nil, score }.
-- States written before the order included expiry scored every grant by its
-- granted-at ms (below the offset): such a score is rewritten here on first use,
-- once (a rewritten score is its own fixed point), so old and new states agree.
local function usable_grants(g, o, x)
  local raw = redis.call('ZRANGE', o, 0, -1, 'WITHSCORES')
  local expiry = {}
  local moved = false
  for i = 1, #raw, 2 do
    local id, score = raw[i], tonumber(raw[i + 1])
    local exp = redis.call('HGET', x, id)
    expiry[id] = exp and tonumber(exp) or false
    local want = score
    if exp then want = tonumber(exp) elseif score < NO_EXPIRY_OFFSET and not is_rollover(id) then want = NO_EXPIRY_OFFSET + score end
    if want ~= score then
      redis.call('ZADD', o, fmt(want), id)
      moved = true
    end
  end
  if moved then raw = redis.call('ZRANGE', o, 0, -1, 'WITHSCORES') end
  local out = {}
  for i = 1, #raw, 2 do
    local id = raw[i]
    local rem = tonumber(redis.call('HGET', g, id) or '0')
    if rem > 0 then out[#out + 1] = { id, rem, expiry[id] or nil, tonumber(raw[i + 1]) } end
  end
  return out
end

-- A grant is usable at instant `at` (ms) while it has credits and has not expired:
-- credits expire at their expires-at instant itself.
local function live_at(e, at)
  return e[2] > 0 and (e[3] == nil or e[3] > at)
end

-- Credits usable at `at`.
local function grants_total(list, at)
  local sum = 0
  for _, e in ipairs(list) do
    if live_at(e, at) then sum = sum + e[2] end
  end
  return sum
end

-- Takes up to `left` from the grants of `list` usable at `at` that `pick` selects, in list order.
local function take_from(g, o, list, left, at, pick, takes)
  local taken = 0
  for _, e in ipairs(list) do
    if left == 0 then break end
    if live_at(e, at) and pick(e[1]) then
      local take = e[2]
      if left < take then take = left end
      e[2] = e[2] - take
      taken = taken + take
      left = left - take
      takes[#takes + 1] = { e[1], take, fmt(e[4]) }
      redis.call('HSET', g, e[1], fmt(e[2]))
      -- a spent grant leaves the spending order but keeps its hash field (idempotent re-apply)
      if e[2] == 0 then redis.call('ZREM', o, e[1]) end
    end
  end
  return taken, left
end

local function not_rollover(id) return not is_rollover(id) end

-- Consumption order: rolled-over allowance (it expires first), then the plan
-- allowance, then grants in spending order (those expired at `at`, the instant
-- the event was accepted, skipped), then overage (async usage is never lost;
-- whether overage is allowed is check's decision). Rolled-over credits count as
-- `purchased` in the split: `plan` stays this period's own allowance.
-- `list` is updated in place so several events of one call share it.
-- Returns plan, purchased, overage and the takes from each grant ({id, amount, order score}).
local function debit(m, g, o, list, need, at)
  local takes = {}
  local rolled, left = take_from(g, o, list, need, at, is_rollover, takes)
  local pl = plan_left(m)
  local plan = left
  if pl >= 0 and pl < left then plan = pl end
  left = left - plan
  if plan > 0 then redis.call('HINCRBY', m, 'used', fmt(plan)) end
  local bought
  bought, left = take_from(g, o, list, left, at, not_rollover, takes)
  if left > 0 then redis.call('HINCRBY', m, 'overage', fmt(left)) end
  return plan, rolled + bought, left, takes
end

-- "grantId=amount=score,..." of a strict-path debit, kept so the debit can be undone
-- if its event cannot be made durable.
local function takes_entry(takes)
  local parts = {}
  for _, t in ipairs(takes) do parts[#parts + 1] = t[1] .. '=' .. fmt(t[2]) .. '=' .. (t[3] or '0') end
  return table.concat(parts, ',')
end

-- 0 = new id, 1 = already applied with this payload ('*' = payload unknown, after a rebuild), 2 = conflict.
local function seen_state(cur, prev, d, fp)
  local v = redis.call('HGET', cur, d) or redis.call('HGET', prev, d)
  if not v then return 0 end
  if v == fp or v == '*' then return 1 end
  return 2
end

-- "plan:purchased:overage:appliedAtMs:meterKey" of an applied event whose ClickHouse row is not yet
-- confirmed. The meter key lets a rebuild count this debit while its row is on its way (rebuild.ts).
local function log_entry(p, g, o, now, meter_key)
  return fmt(p) .. ':' .. fmt(g) .. ':' .. fmt(o) .. ':' .. fmt(now) .. ':' .. meter_key
end

local function read_log(log, d)
  local v = redis.call('HGET', log, d)
  if not v then return nil end
  local p, g, o, t = string.match(v, '^(%d+):(%d+):(%d+):(%d+)')
  return { tonumber(p), tonumber(g), tonumber(o), tonumber(t) }
end

local LOG_TTL_SECONDS = 7 * 24 * 3600

-- Which job writes an applied event's ClickHouse row: "<untilMs>:<token>" in
-- the applied log's field d..'#w'. True when `token` may write it now (no
-- claim, its own claim, or a claim that lapsed because its holder died).
-- Two jobs can hold the same event (a retry racing a redelivered batch, or a
-- resent id reaching the ledger while its first row is being written); only
-- the claim holder writes, so a row is inserted once and rollups count it once.
local function claim_row(log, d, token, now, ttl)
  local f = d .. '#w'
  local v = redis.call('HGET', log, f)
  if v then
    local until_ms, owner = string.match(v, '^(%d+):(.*)$')
    if owner ~= token and tonumber(until_ms) > now then return false end
  end
  redis.call('HSET', log, f, fmt(now + ttl) .. ':' .. token)
  return true
end
