--[[
  Record one server's system stats, seen now.
  ARGV[1] JSON { serverId, vramFree, vramTotal, ramFree, ramTotal, stateTtlMs, testNow? }.
  Stored as `vramFree,vramTotal,ramFree,ramTotal,seenAt`.
]]
-- @include clock_now
-- @include fmt
-- @include touch

-- KEYS in the one order of store/keys.ts (KEY_ORDER).
local statsKey = KEYS[1]
local a = cjson.decode(ARGV[1])
local now = clock_now(a.testNow)
redis.call('HSET', statsKey, a.serverId, table.concat({ fmt(a.vramFree), fmt(a.vramTotal), fmt(a.ramFree), fmt(a.ramTotal), fmt(now) }, ','))
touch(KEYS, a.stateTtlMs)
return 1
