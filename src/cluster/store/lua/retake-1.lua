--[[
  Put back a lease that was lost (expired, or Redis restarted or was flushed) while its scene still
  runs: the slot is in use, so it counts again, even above the server's max.
  ARGV[1] JSON { member, ttlMs, stateTtlMs, testNow? }. Returns 1.
]]
-- @include clock_now
-- @include touch

-- KEYS in the one order of store/keys.ts (KEY_ORDER).
local leasesKey = KEYS[1]
local a = cjson.decode(ARGV[1])
local now = clock_now(a.testNow)
redis.call('ZADD', leasesKey, now + a.ttlMs, a.member)
touch(KEYS, a.stateTtlMs)
return 1
