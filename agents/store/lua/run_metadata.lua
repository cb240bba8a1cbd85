-- Replaces a tracked run's metadata and moves it between the metadata indexes, in one
-- step, if its metadata is still what the caller read (so the indexes it named are the
-- row's: a concurrent update makes the caller read again).
-- KEYS: the run hash, then the old metadata's indexes (ARGV[3] of them), then the new's.
-- ARGV: the metadata JSON the caller read, the new metadata JSON, how many old indexes.
-- Returns 1 when written, 0 when the row changed meanwhile, -1 when not tracked.
if redis.call('HEXISTS', KEYS[1], 'status') == 0 then return -1 end
local member = redis.call('HGET', KEYS[1], 'member')
if not member then  -- a row tracked before rows kept their index member
  member = string.format('%013d', tonumber(redis.call('HGET', KEYS[1], 'created_at')))
    .. '|' .. redis.call('HGET', KEYS[1], 'id')
end
if redis.call('HGET', KEYS[1], 'metadata') ~= ARGV[1] then return 0 end
local old = tonumber(ARGV[3])
for i = 2, old + 1 do redis.call('ZREM', KEYS[i], member) end
for i = old + 2, #KEYS do redis.call('ZADD', KEYS[i], 0, member) end
redis.call('HSET', KEYS[1], 'metadata', ARGV[2])
return 1
