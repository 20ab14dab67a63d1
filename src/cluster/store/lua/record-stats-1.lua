--[[
  Record one server's system stats. KEYS[1] stats. ARGV[1] serverId, ARGV[2] `vramFree,vramTotal,ramFree,ramTotal,seenAt`,
  ARGV[3] state TTL (ms).
]]
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
local ttl = tonumber(ARGV[3])
if ttl > 0 then redis.call('PEXPIRE', KEYS[1], ttl) end
return 1
