-- Frames of chat streams: kept for clients that resume (a list) and sent to every client
-- (the agent's shard channel) in one step, so the two never differ. One call writes the
-- frames of any number of streams (their keys in one cluster slot), three keys each:
-- KEYS[i] the stream's list, KEYS[i+1] its agent's shard channel, KEYS[i+2] its fence:
-- once the fence exists (a cancelled turn's end set it), only the stream's ender writes,
-- so what a cancelled model step still had in flight is dropped instead of landing after
-- the turn's `abort` and `finish`.
-- ARGV, per stream in the order of its keys: the broadcast envelope of its frames, '1' for
-- the stream's ender ('' otherwise), how many frames, then the frames as stored.
-- Returns, per stream, 1 if written, 0 if fenced off.
local written, pos = {}, 1
for i = 1, #KEYS, 3 do
  local envelope, ender, count = ARGV[pos], ARGV[pos + 1], tonumber(ARGV[pos + 2])
  local first = pos + 3
  pos = first + count
  if ender == '1' or redis.call('EXISTS', KEYS[i + 2]) == 0 then
    redis.call('RPUSH', KEYS[i], unpack(ARGV, first, pos - 1))
    redis.call('SPUBLISH', KEYS[i + 1], envelope)
    written[#written + 1] = 1
  else
    written[#written + 1] = 0
  end
end
return written
