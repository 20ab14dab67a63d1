--[[
  Record probe results of many servers.
  KEYS[1] queue  KEYS[2] breaker  KEYS[3] errors
  ARGV[1] JSON { probes: [{serverId, ok, queueRemaining?, external?, refused?, error?, random}], breaker: BreakerOptions, stateTtlMs, testNow? }
  A failed probe counts as a transient failure and marks the server as probed (not stale).
]]
-- @include util
-- @include breaker
-- @include clock

local a = cjson.decode(ARGV[1])
local now = clock_now(a.testNow)
for _, p in ipairs(a.probes) do
  if p.ok then
    if p.queueRemaining ~= nil then
      local value = fmt(p.queueRemaining) .. ',' .. fmt(now)
      if p.external ~= nil then value = value .. ',' .. fmt(p.external) end
      redis.call('HSET', KEYS[1], p.serverId, value)
    end
  else
    local b = breaker_decode(redis.call('HGET', KEYS[2], p.serverId) or nil)
    -- Nothing listens on a server that refused: every worker should leave it alone at once.
    local opts = a.breaker
    if p.refused then
      opts = breaker_copy(a.breaker)
      opts.threshold = 1
    end
    redis.call('HSET', KEYS[2], p.serverId, breaker_encode(breaker_on_failure(b, now, p.random, opts)))
    redis.call('HSET', KEYS[3], p.serverId, fmt(now) .. '|' .. (p.error or 'probe failed'))
    local q = redis.call('HGET', KEYS[1], p.serverId)
    local n = 0
    if q then n = split_numbers(q)[1] end
    redis.call('HSET', KEYS[1], p.serverId, fmt(n) .. ',' .. fmt(now))
  end
end
touch(KEYS, a.stateTtlMs)
return #a.probes
