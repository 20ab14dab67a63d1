--[[
  Extend a live lease. KEYS[1] leases. ARGV[1] JSON { member, ttlMs, testNow? }.
  Returns 1 when renewed, 0 when it had already expired (and is then dropped) or was gone.
]]
-- @include clock

local a = cjson.decode(ARGV[1])
local now = clock_now(a.testNow)
local score = redis.call('ZSCORE', KEYS[1], a.member)
if not score then return 0 end
if tonumber(score) <= now then
  redis.call('ZREM', KEYS[1], a.member)
  return 0
end
redis.call('ZADD', KEYS[1], 'XX', now + a.ttlMs, a.member)
return 1
