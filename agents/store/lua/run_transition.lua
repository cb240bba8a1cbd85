-- Moves a tracked run to a new status if the status rules allow, in one atomic step.
-- KEYS: run hash, expiry index, the agent's channel, then one status index per status,
--       in the order ARGV[9] names them, then the run's taken event ids (a set) and its
--       pending events (a hash: id -> "type|run id").
-- ARGV: new status, now_ms, allowed-from (comma separated, '*' any), write fields even if
--       the rule refuses (0/1), run id of the reporter ('' any), a field that must hold
--       ARGV[7] for anything to change ('' none), its value, a message to publish if the
--       status changed ('' none), the statuses of KEYS[4...] (comma separated), which
--       retention the new status starts ('success', 'error' or ''); for a control's mark
--       after it delivered an event: the event's id and type ('' none: see
--       RunTracker.mark_resumed); ids of events the run
--       has taken, or for a restart's write those its old run was sent (comma separated,
--       '' none; recorded whatever else happens to the row's status); an event
--       type: while an event of that type is pending the run goes `running` instead, with
--       no fields written ('' none); the message to publish then; the number of a run's
--       report of a pause or resume it took (its `controls` count: applied only if
--       greater than the row's, which it then becomes; '' none); '1' for a control's mark
--       after its pause or resume signal, made under the run's control lock: the mark
--       numbers the signal as the run will (the row's `issued` count, plus one) and
--       applies only if the run has reported no control of that number or later ('' not
--       such a mark); '1' for a restart's write, whose ARGV[5] is the new chain: should a
--       report of that chain have come first, only the fields are written ('' not one);
--       the reporting execution's own run id ('' unknown: see the reopening below); a
--       progress report's `<run id>:<n>` ('' none); a status report's count of progress
--       reports its run had posted, as `<run id>:<n>` ('' none); then field/value pairs.
-- A reporter's run id (ARGV[5]) is checked against the row's: another chain's report
-- changes nothing. A row without one (a start or restart under way) takes the first
-- reporter's as its own, unless a restart retired that chain (`retired`, space separated).
-- The message may hold the placeholder NAME_HOLE (a JSON string) where the run's workflow
-- name goes: a control that knows only the run's id announces in the same one call.
-- Returns {status after the call, 1 if it changed else 0, when it expires or ''}, or {}
-- when not tracked.
local NAME_HOLE = '"\\u0000workflow_name\\u0000"'
-- Seconds the event records are kept: far longer than a control's signal-to-mark gap.
local EVENTS_TTL = 7 * 24 * 3600
local current = redis.call('HGET', KEYS[1], 'status')
if not current then return {} end
local unchanged = {current, 0, ''}
local run_id = ''  -- the row's execution, read only when an argument needs it
local adopted = false  -- the row now follows the reporter's chain, which a dead restart started
if ARGV[5] ~= '' or ARGV[11] ~= '' or ARGV[14] ~= '' then
  run_id = redis.call('HGET', KEYS[1], 'run_id') or ''
end
local taken, pending = KEYS[#KEYS - 1], KEYS[#KEYS]
local function record_taken()
  if ARGV[13] == '' then return end
  for id in string.gmatch(ARGV[13], '[^,]+') do
    redis.call('SADD', taken, id)
    redis.call('HDEL', pending, id)
  end
  redis.call('EXPIRE', taken, EVENTS_TTL)
end
if ARGV[18] ~= '' and run_id == ARGV[5] then  -- the new chain reported first: its status stands
  for i = 22, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
  record_taken()  -- the events the old chain was sent
  return unchanged
end
if ARGV[18] ~= '' and run_id ~= '' then  -- a restart (under the control lock) replaces the chain
  local retired = redis.call('HGET', KEYS[1], 'retired') or ''
  redis.call('HSET', KEYS[1], 'retired', string.sub(run_id .. ' ' .. retired, 1, 400), 'run_id', ARGV[5])
  run_id = ARGV[5]
end
if ARGV[5] ~= '' and run_id == '' then
  local retired = redis.call('HGET', KEYS[1], 'retired')
  if retired and string.find(' ' .. retired .. ' ', ' ' .. ARGV[5] .. ' ', 1, true) then return unchanged end
  redis.call('HSET', KEYS[1], 'run_id', ARGV[5])
  run_id = ARGV[5]
elseif ARGV[5] ~= '' and run_id ~= ARGV[5] then
  -- A status report of a chain this row never knew, while the row is finished: only a
  -- restart starts a new chain under the row's Temporal id, and this one died between
  -- its start and its write (a chain it replaces goes to `retired` in that write). The
  -- row follows the new chain, reopened (result, error and progress cleared).
  local finished = current == 'complete' or current == 'errored' or current == 'terminated'
  local retired = finished and ARGV[19] ~= '' and redis.call('HGET', KEYS[1], 'retired') or ''
  if not finished or ARGV[19] == '' or string.find(' ' .. retired .. ' ', ' ' .. ARGV[5] .. ' ', 1, true) then
    return unchanged
  end
  redis.call('HSET', KEYS[1], 'retired', string.sub(run_id .. ' ' .. retired, 1, 400), 'run_id', ARGV[5],
    'controls', 0, 'issued', 0)
  redis.call('HDEL', KEYS[1], 'result', 'error', 'completed_at', 'ended_run', 'progress')
  redis.call('DEL', pending)
  run_id = ARGV[5]
  adopted = true
end
record_taken()
local controls = 0  -- pause and resume reports taken, read only when an argument needs it
if ARGV[16] ~= '' or ARGV[17] ~= '' then
  controls = tonumber(redis.call('HGET', KEYS[1], 'controls') or '0')
end
if ARGV[16] ~= '' then  -- the run's own word on a pause or resume: only the newest counts
  if tonumber(ARGV[16]) <= controls then return unchanged end
  redis.call('HSET', KEYS[1], 'controls', ARGV[16])
  -- A later control's mark stands until the run's word on that one comes.
  if tonumber(ARGV[16]) < tonumber(redis.call('HGET', KEYS[1], 'issued') or '0') then return unchanged end
end
if ARGV[17] ~= '' then  -- a control's mark: the run's own word on it (or a later one) stands
  local issued = tonumber(redis.call('HGET', KEYS[1], 'issued') or '0') + 1
  redis.call('HSET', KEYS[1], 'issued', issued)
  if controls >= issued then return unchanged end
end
local target, announce, first_field = ARGV[1], ARGV[8], 22
local hold_status = false  -- progress older than the run's last status report
if ARGV[20] ~= '' then  -- a progress report, numbered within its run
  local run, n = string.match(ARGV[20], '^(.*):(%d+)$')
  local shown = redis.call('HGET', KEYS[1], 'progress_seq')
  local shown_run, shown_n = string.match(shown or '', '^(.*):(%d+)$')
  if shown_run == run and tonumber(n) <= tonumber(shown_n) then return unchanged end
  redis.call('HSET', KEYS[1], 'progress_seq', ARGV[20])
  local fence = redis.call('HGET', KEYS[1], 'progress_fence')
  local fence_run, fence_n = string.match(fence or '', '^(.*):(%d+)$')
  hold_status = fence_run == run and tonumber(n) <= tonumber(fence_n)
end
if ARGV[21] ~= '' then redis.call('HSET', KEYS[1], 'progress_fence', ARGV[21]) end
if ARGV[11] ~= '' then  -- a control's mark: its event is delivered and, until the run says so, not taken
  if redis.call('SISMEMBER', taken, ARGV[11]) == 1 then return unchanged end
  redis.call('HSET', pending, ARGV[11], ARGV[12] .. '|' .. run_id)
  redis.call('EXPIRE', pending, EVENTS_TTL)
end
if ARGV[14] ~= '' then  -- about to wait for a type already delivered: the run takes it at once
  for _, entry in ipairs(redis.call('HVALS', pending)) do
    if entry == ARGV[14] .. '|' .. run_id then
      target, announce, first_field = 'running', ARGV[15], #ARGV + 1
      break
    end
  end
end
if ARGV[6] ~= '' and redis.call('HGET', KEYS[1], ARGV[6]) ~= ARGV[7] then return unchanged end
local allowed = adopted and '*' or ARGV[3]
local finished = current == 'complete' or current == 'errored' or current == 'terminated'
local ended = ARGV[19] ~= '' and finished and redis.call('HGET', KEYS[1], 'ended_run')
if ended and ended ~= ARGV[19] and ARGV[5] ~= '' and run_id == ARGV[5] then
  -- Another run of the chain that finished the row: a reset ran it again. Reopened.
  redis.call('HDEL', KEYS[1], 'result', 'error', 'completed_at', 'ended_run')
  redis.call('DEL', pending)  -- what the earlier run was sent and did not report taking
  allowed = '*'
end
local ok = allowed == '*' or string.find(',' .. allowed .. ',', ',' .. current .. ',', 1, true)
if hold_status then ok = false end
if not ok and ARGV[4] ~= '1' then return unchanged end
for i = first_field, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('HSET', KEYS[1], 'updated_at', ARGV[2])
if not ok or target == current then return unchanged end
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
redis.call('ZADD', index[target], 0, member)
redis.call('HSET', KEYS[1], 'status', target)
if target == 'complete' or target == 'errored' or target == 'terminated' then
  if ARGV[19] ~= '' then redis.call('HSET', KEYS[1], 'ended_run', ARGV[19]) end
  redis.call('DEL', pending)  -- a finished run takes no event: none is pending any more
end
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
if announce ~= '' then
  local message = announce
  local from, to = string.find(message, NAME_HOLE, 1, true)
  if from then
    local name = cjson.encode(redis.call('HGET', KEYS[1], 'workflow_name') or '')
    message = string.sub(message, 1, from - 1) .. name .. string.sub(message, to + 1)
  end
  redis.call('SPUBLISH', KEYS[3], message)
end
return {target, 1, tostring(expires)}
