-- The state object as JSON text, built from the hash's fields (each already JSON) so
-- no value is decoded: Lua's cjson would turn an empty list into {}.
local function snapshot()
  local flat = redis.call('HGETALL', KEYS[1])
  local parts = {}
  for i = 1, #flat, 2 do
    parts[#parts + 1] = cjson.encode(flat[i]) .. ':' .. flat[i + 1]
  end
  return '{' .. table.concat(parts, ',') .. '}'
end
