--[[
  Extend a live lease. ARGV[1] JSON { member, ttlMs, testNow? }.
  Returns 1 when renewed, 0 when it had already expired (and is then dropped) or was gone.
]]
-- @include clock_now

-- KEYS in the one order of store/keys.ts (KEY_ORDER).
local leasesKey = KEYS[1]
local a = cjson.decode(ARGV[1])
local now = clock_now(a.testNow)
local score = redis.call('ZSCORE', leasesKey, a.member)
if not score then return 0 end
if tonumber(score) <= now then
  redis.call('ZREM', leasesKey, a.member)
  return 0
end
redis.call('ZADD', leasesKey, 'XX', now + a.ttlMs, a.member)
return 1
