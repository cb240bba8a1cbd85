-- KEYS: rows. Each row as HGETALL (empty if not tracked).
local out = {}
for i, key in ipairs(KEYS) do out[i] = redis.call('HGETALL', key) end
return out
