-- Frames of a chat stream: kept for clients that resume (KEYS[1], a list) and sent to
-- every client (KEYS[2], the agent's shard channel) in one step, so the two never differ.
-- KEYS[3]: the stream's fence: once it exists (a cancelled turn's end set it), only its
-- ender writes (ARGV[2] = '1'): what a cancelled model step still had in flight is
-- dropped instead of landing after the turn's `abort` and `finish`.
-- ARGV[1]: the broadcast envelope of them all; ARGV[2]: '1' for the stream's ender, ''
-- otherwise; ARGV[3..]: the frames as stored, in order. Returns 1 if written, 0 if fenced off.
if ARGV[2] ~= '1' and redis.call('EXISTS', KEYS[3]) == 1 then return 0 end
redis.call('RPUSH', KEYS[1], unpack(ARGV, 3))
redis.call('SPUBLISH', KEYS[2], ARGV[1])
return 1
