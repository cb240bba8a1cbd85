-- Moves a tracked run to a new status if the status rules allow, in one atomic step.
-- KEYS: run hash, expiry index, the agent's channel, then one status index per status,
--       in the order ARGV[9] names them.
-- ARGV: new status, now_ms, allowed-from (comma separated, '*' any), write fields even if
--       the rule refuses (0/1), run id of the reporter ('' any), a field that must hold
--       ARGV[7] for anything to change ('' none), its value, a message to publish if the
--       status changed ('' none), the statuses of KEYS[4...] (comma separated), which
--       retention the new status starts ('success', 'error' or ''), '1' to return the row
--       as it was before the call, then field/value pairs.
-- The message may hold the placeholder NAME_HOLE (a JSON string) where the run's workflow
-- name goes: a control that knows only the run's id announces in the same one call.
-- Returns {status after the call, 1 if it changed else 0, when it expires or '', the row
-- as a flat HGETALL reply if asked}, or {} when not tracked.
local NAME_HOLE = '"\\u0000workflow_name\\u0000"'
local current = redis.call('HGET', KEYS[1], 'status')
if not current then return {} end
local row = ARGV[11] == '1' and redis.call('HGETALL', KEYS[1]) or {}
if ARGV[5] ~= '' then
  local owner = redis.call('HGET', KEYS[1], 'run_id')
  if owner and owner ~= '' and owner ~= ARGV[5] then return {current, 0, '', row} end
end
if ARGV[6] ~= '' and redis.call('HGET', KEYS[1], ARGV[6]) ~= ARGV[7] then return {current, 0, '', row} end
local allowed = ARGV[3]
local ok = allowed == '*' or string.find(',' .. allowed .. ',', ',' .. current .. ',', 1, true)
if not ok and ARGV[4] ~= '1' then return {current, 0, '', row} end
for i = 12, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('HSET', KEYS[1], 'updated_at', ARGV[2])
if not ok or ARGV[1] == current then return {current, 0, '', row} end
local index = {}
local position = 4
for status in string.gmatch(ARGV[9], '[^,]+') do
  index[status] = KEYS[position]
  position = position + 1
end
local member = redis.call('HGET', KEYS[1], 'member')
if not member then  -- a row tracked before rows kept their index member
  member = string.format('%013d', tonumber(redis.call('HGET', KEYS[1], 'created_at')))
    .. '|' .. redis.call('HGET', KEYS[1], 'id')
end
redis.call('ZREM', index[current], member)
redis.call('ZADD', index[ARGV[1]], 0, member)
redis.call('HSET', KEYS[1], 'status', ARGV[1])
local keep = ARGV[10] ~= '' and redis.call('HGET', KEYS[1], 'retention_' .. ARGV[10])
local expires = ''
if keep then
  expires = tonumber(ARGV[2]) + tonumber(keep)
  redis.call('HSET', KEYS[1], 'expires_at', expires)
  redis.call('ZADD', KEYS[2], expires, member)
else
  redis.call('HDEL', KEYS[1], 'expires_at')
  redis.call('ZREM', KEYS[2], member)
end
if ARGV[8] ~= '' then
  local message = ARGV[8]
  local from, to = string.find(message, NAME_HOLE, 1, true)
  if from then
    local name = cjson.encode(redis.call('HGET', KEYS[1], 'workflow_name') or '')
    message = string.sub(message, 1, from - 1) .. name .. string.sub(message, to + 1)
  end
  redis.call('SPUBLISH', KEYS[3], message)
end
return {ARGV[1], 1, tostring(expires), row}
