-- Undoes a strict-path debit whose event could not be published (Kafka down):
-- gives back the plan part, the overage and each grant's take, and forgets the id.
-- KEYS: 1 meter, 2 grants, 3 grant-order, 4 seen (current generation), 5 applied log.
-- ARGV: 1 id digest. Returns 1 when undone, 0 when there was nothing to undo.
local v = read_log(KEYS[5], ARGV[1])
if not v then return 0 end
if v[1] > 0 then redis.call('HINCRBY', KEYS[1], 'used', fmt(-v[1])) end
if v[3] > 0 then redis.call('HINCRBY', KEYS[1], 'overage', fmt(-v[3])) end
local takes = redis.call('HGET', KEYS[5], ARGV[1] .. '#g') or ''
for id, amount, score in string.gmatch(takes, '([^=,]+)=(%d+)=([%d.e+-]+)') do
  redis.call('HINCRBY', KEYS[2], id, amount)
  redis.call('ZADD', KEYS[3], score, id)
end
redis.call('HDEL', KEYS[4], ARGV[1])
redis.call('HDEL', KEYS[5], ARGV[1], ARGV[1] .. '#g')
return 1
