-- Frames of a chat stream: kept for clients that resume (KEYS[1], a list) and sent to
-- every client (KEYS[2], the agent's shard channel) in one step, so the two never differ.
-- ARGV[1]: the broadcast envelope of them all; ARGV[2..]: the frames as stored, in order.
redis.call('RPUSH', KEYS[1], unpack(ARGV, 2))
redis.call('SPUBLISH', KEYS[2], ARGV[1])
return 1
