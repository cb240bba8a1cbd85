-- Applies one state write, bumps the version and publishes the new snapshot, atomically.
-- KEYS: state, meta, marker, turn, turn queue, channel (all in the agent's one slot)
-- ARGV: mode (set|merge), (unused), the broadcast envelope in three parts (before the
--       version, between version and state, after the state: Python builds it),
--       marker_ttl_s ('0': no marker, KEYS[3] is not touched), turn token ('' when
--       written outside a turn), n_initial, initial k/v pairs..., then k/v pairs of the write.
-- The snapshot goes out on the agent's shard channel (SPUBLISH: on a cluster, to the
-- one shard that holds the agent).
-- Status: 1 applied, 0 already applied (marker), -2 the agent's turn is held or waited
-- for (write in a turn instead), -3 the token no longer holds the turn.
local version = tonumber(redis.call('HGET', KEYS[2], 'version') or '0')
local marked = ARGV[6] ~= '0'
if marked and redis.call('EXISTS', KEYS[3]) == 1 then
  return {version, snapshot(), 0}
end
local holder = redis.call('GET', KEYS[4])
if ARGV[7] ~= '' then
  if holder ~= ARGV[7] then return {version, '', -3} end
elseif holder or redis.call('ZCARD', KEYS[5]) > 0 then
  return {version, '', -2}
end
local n_initial = tonumber(ARGV[8])
local first = 9 + 2 * n_initial
if ARGV[1] == 'set' then
  redis.call('DEL', KEYS[1])
elseif redis.call('HEXISTS', KEYS[2], 'set') == 0 then
  for i = 9, first - 1, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
end
for i = first, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('HSET', KEYS[2], 'set', '1')
version = redis.call('HINCRBY', KEYS[2], 'version', 1)
local snap = snapshot()
redis.call('SPUBLISH', KEYS[6], ARGV[3] .. version .. ARGV[4] .. snap .. ARGV[5])
if marked then redis.call('SET', KEYS[3], '1', 'EX', tonumber(ARGV[6])) end
return {version, snap, 1}
