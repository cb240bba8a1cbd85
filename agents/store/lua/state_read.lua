local meta = redis.call('HMGET', KEYS[2], 'set', 'version')
return {meta[1] or '', tonumber(meta[2] or '0'), snapshot()}
