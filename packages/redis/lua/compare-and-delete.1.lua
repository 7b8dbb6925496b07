-- Deletes KEYS[1] only while it still holds ARGV[1]: a lock released by its own
-- holder only (it may have expired and been taken by another), a build marker
-- dropped only if it is still the build that was judged stale. 1 deleted, 0 not.
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
