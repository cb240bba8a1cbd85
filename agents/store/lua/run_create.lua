-- Insert a row and its index entries in one atomic step (one round trip), or nothing if
-- the id is taken. KEYS: row, then index sorted sets; ARGV: member, then field/value pairs.
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
for i = 2, #KEYS do redis.call('ZADD', KEYS[i], 0, ARGV[1]) end
return 1
