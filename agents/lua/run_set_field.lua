-- KEYS: row; ARGV: field, value ("": remove the field). The row afterwards (HGETALL),
-- or {} if it is not tracked (then nothing is written).
if redis.call('EXISTS', KEYS[1]) == 0 then return {} end
if ARGV[2] == '' then
  redis.call('HDEL', KEYS[1], ARGV[1])
else
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
end
return redis.call('HGETALL', KEYS[1])
