-- One frame of a chat stream: kept for clients that resume (KEYS[1], a list) and sent to
-- every client (KEYS[2], the agent's shard channel), in one step so the two never differ.
-- ARGV[1]: the frame as stored; ARGV[2]: its broadcast envelope.
redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('SPUBLISH', KEYS[2], ARGV[2])
return 1
