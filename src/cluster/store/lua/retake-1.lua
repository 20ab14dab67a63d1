--[[
  Put back a lease that was lost (expired, or Redis restarted or was flushed) while its scene still
  runs: the slot is in use, so it counts again, even above the server's max.
  KEYS[1] leases. ARGV[1] JSON { member, ttlMs, stateTtlMs, testNow? }. Returns 1.
]]
-- @include util
-- @include clock

local a = cjson.decode(ARGV[1])
local now = clock_now(a.testNow)
redis.call('ZADD', KEYS[1], now + a.ttlMs, a.member)
touch(KEYS, a.stateTtlMs)
return 1
