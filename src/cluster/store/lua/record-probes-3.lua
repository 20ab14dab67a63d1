--[[
  Record probe results of many servers.
  ARGV[1] JSON { probes: [{serverId, ok, queueRemaining?, external?, refused?, error?, random}], breaker: BreakerOptions, stateTtlMs, testNow? }
  A failed probe counts as a transient failure and marks the server as probed (not stale).
]]
-- @include clock_now
-- @include split_numbers
-- @include breaker_decode
-- @include breaker_copy
-- @include breaker_encode
-- @include breaker_on_failure
-- @include fmt
-- @include touch

-- KEYS in the one order of store/keys.ts (KEY_ORDER).
local breakerKey, queueKey, errorsKey = KEYS[1], KEYS[2], KEYS[3]
local a = cjson.decode(ARGV[1])
local now = clock_now(a.testNow)
for _, p in ipairs(a.probes) do
  if p.ok then
    if p.queueRemaining ~= nil then
      local value = fmt(p.queueRemaining) .. ',' .. fmt(now)
      if p.external ~= nil then value = value .. ',' .. fmt(p.external) end
      redis.call('HSET', queueKey, p.serverId, value)
    end
  else
    local b = breaker_decode(redis.call('HGET', breakerKey, p.serverId) or nil)
    -- Nothing listens on a server that refused: every worker should leave it alone at once.
    local opts = a.breaker
    if p.refused then
      opts = breaker_copy(a.breaker)
      opts.threshold = 1
    end
    redis.call('HSET', breakerKey, p.serverId, breaker_encode(breaker_on_failure(b, now, p.random, opts)))
    redis.call('HSET', errorsKey, p.serverId, fmt(now) .. '|' .. (p.error or 'probe failed'))
    local q = redis.call('HGET', queueKey, p.serverId)
    local n = 0
    if q then n = split_numbers(q)[1] end
    redis.call('HSET', queueKey, p.serverId, fmt(n) .. ',' .. fmt(now))
  end
end
touch(KEYS, a.stateTtlMs)
return #a.probes
