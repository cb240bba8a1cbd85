-- KEYS: state, meta (which the snapshot function reads), turn, queue, alive, seq.
-- ARGV: token, lease_ms, waiter_ttl_ms.
-- Returns {1, set, version, snapshot, born} when the turn is taken, {0} when queued
-- (born: the token of the agent's current incarnation, '' none; see Activations).
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local dead = redis.call('ZRANGEBYSCORE', KEYS[5], '-inf', now)
if #dead > 0 then
  for _, d in ipairs(dead) do redis.call('ZREM', KEYS[4], d) end
  redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', now)
end
if not redis.call('GET', KEYS[3]) then
  local head = redis.call('ZRANGE', KEYS[4], 0, 0)[1]
  if head == nil or head == ARGV[1] then
    redis.call('SET', KEYS[3], ARGV[1], 'PX', ARGV[2])
    if head ~= nil then
      redis.call('ZREM', KEYS[4], ARGV[1])
      redis.call('ZREM', KEYS[5], ARGV[1])
    end
    local meta = redis.call('HMGET', KEYS[2], 'set', 'version', 'born')
    return {1, meta[1] or '', tonumber(meta[2] or '0'), snapshot(), meta[3] or ''}
  end
end
if not redis.call('ZSCORE', KEYS[4], ARGV[1]) then
  redis.call('ZADD', KEYS[4], redis.call('INCR', KEYS[6]), ARGV[1])
end
redis.call('ZADD', KEYS[5], now + tonumber(ARGV[3]), ARGV[1])
for i = 4, 6 do redis.call('PEXPIRE', KEYS[i], 2 * tonumber(ARGV[3])) end
return {0}
