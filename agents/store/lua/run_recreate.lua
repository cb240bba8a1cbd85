-- Gives a tracked run a new created_at (a restart counts as new, first in lists), moving
-- it in every index it is in, in one step: the status index is the row's status as it is
-- now, whatever a transition did since the caller read the row.
-- KEYS: the run hash, the expiry index, the list index, its workflow name's and metadata
--       indexes, then one status index per status, in the order ARGV[3] names them.
-- ARGV: new created_at (ms), how many of KEYS[3...] are the list/name/metadata indexes,
--       the statuses (comma separated), the row's id.
local old = redis.call('HGET', KEYS[1], 'member')
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return 0 end
if not old then
  old = string.format('%013d', tonumber(redis.call('HGET', KEYS[1], 'created_at'))) .. '|' .. ARGV[4]
end
local fresh = string.format('%013d', tonumber(ARGV[1])) .. '|' .. ARGV[4]
local last_plain = 2 + tonumber(ARGV[2])
for i = 3, last_plain do
  redis.call('ZREM', KEYS[i], old)
  redis.call('ZADD', KEYS[i], 0, fresh)
end
local position = last_plain + 1
for name in string.gmatch(ARGV[3], '[^,]+') do
  redis.call('ZREM', KEYS[position], old)
  if name == status then redis.call('ZADD', KEYS[position], 0, fresh) end
  position = position + 1
end
redis.call('ZREM', KEYS[2], old)
redis.call('HSET', KEYS[1], 'created_at', ARGV[1], 'updated_at', ARGV[1], 'member', fresh)
return 1
