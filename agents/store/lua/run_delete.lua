-- Deletes a tracked run and its index entries in one step.
-- KEYS: the run hash, then every index the row may be in (all status indexes, the list
--       index, the expiry index, its workflow name's and metadata indexes).
-- ARGV: the row's index member (what the caller read, or a stray's from an index walk).
-- The row's own member is removed too, should it differ. Returns 1 if a row was deleted.
local member = redis.call('HGET', KEYS[1], 'member')
local existed = redis.call('DEL', KEYS[1])
for i = 2, #KEYS do
  redis.call('ZREM', KEYS[i], ARGV[1])
  if member and member ~= ARGV[1] then redis.call('ZREM', KEYS[i], member) end
end
return existed
