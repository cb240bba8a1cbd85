-- KEYS: row; ARGV: run id. The row afterwards (HGETALL), or {} if it is not tracked.
if redis.call('EXISTS', KEYS[1]) == 0 then return {} end
redis.call('HSET', KEYS[1], 'run_id', ARGV[1])
return redis.call('HGETALL', KEYS[1])
