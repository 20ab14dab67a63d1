--[[
  Extend a live lease. KEYS[1] leases. ARGV[1] now, ARGV[2] member, ARGV[3] new expiry.
  Returns 1 when renewed, 0 when it had already expired (and is then dropped).
]]
local score = redis.call('ZSCORE', KEYS[1], ARGV[2])
if not score then return 0 end
if tonumber(score) <= tonumber(ARGV[1]) then
  redis.call('ZREM', KEYS[1], ARGV[2])
  return 0
end
redis.call('ZADD', KEYS[1], 'XX', ARGV[3], ARGV[2])
return 1
