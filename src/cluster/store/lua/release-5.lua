--[[
  Release a lease and record how its scene ended.
  KEYS[1] leases  KEYS[2] breaker  KEYS[3] ewma  KEYS[4] queue  KEYS[5] errors
  ARGV[1] JSON { member, keepTtlMs?, kind, workflowKey, executionMs?, work?, error?, random,
                 breaker: BreakerOptions, alpha, stateTtlMs, testNow? }
  keepTtlMs: keep the lease (renewed for this long) instead of freeing its slot: the caller's next scene
  already runs on it. A lease that was lost is put back (as retake-1 does).
  Returns 1 when the lease was still live, else 0.
]]
-- @include util
-- @include breaker
-- @include clock

local a = cjson.decode(ARGV[1])
local now = clock_now(a.testNow)
local score = redis.call('ZSCORE', KEYS[1], a.member)
local live = 0
if score and tonumber(score) > now then live = 1 end
if a.keepTtlMs then
  redis.call('ZADD', KEYS[1], now + a.keepTtlMs, a.member)
else
  redis.call('ZREM', KEYS[1], a.member)
end
local id = lease_server(a.member)
local b = breaker_decode(redis.call('HGET', KEYS[2], id) or nil)

if a.kind == 'transient' then
  redis.call('HSET', KEYS[2], id, breaker_encode(breaker_on_failure(b, now, a.random, a.breaker)))
  redis.call('HSET', KEYS[5], id, fmt(now) .. '|' .. (a.error or 'transient failure'))
  touch(KEYS, a.stateTtlMs)
  return live
end

-- The prompt left the server's queue: keep the last seen length honest until the next probe.
local q = redis.call('HGET', KEYS[4], id)
if q then
  local n = split_numbers(q)
  redis.call('HSET', KEYS[4], id, fmt(math.max(0, n[1] - 1)) .. ',' .. fmt(n[2]))
end

if a.kind == 'cancelled' then
  if b.trialUntil > now then
    b.trialUntil = 0
    redis.call('HSET', KEYS[2], id, breaker_encode(b))
  end
  touch(KEYS, a.stateTtlMs)
  return live
end

redis.call('HSET', KEYS[2], id, breaker_encode(breaker_on_success(b, now, a.breaker)))
if a.kind == 'success' and a.executionMs ~= nil and a.executionMs >= 0 then
  local field = id .. '|' .. a.workflowKey
  local x = a.executionMs / 1000
  local prev = redis.call('HGET', KEYS[3], field)
  if prev then
    local e = split_numbers(prev)
    redis.call('HSET', KEYS[3], field, fmt(a.alpha * x + (1 - a.alpha) * e[1]) .. ',' .. fmt(e[2] + 1))
  else
    redis.call('HSET', KEYS[3], field, fmt(x) .. ',1')
  end
  -- Seconds per work unit of this server, over every workflow it ran.
  if a.work ~= nil and a.work > 0 then
    local rateField = id .. '|#work'
    local r = x / a.work
    local prevRate = redis.call('HGET', KEYS[3], rateField)
    if prevRate then
      local e = split_numbers(prevRate)
      redis.call('HSET', KEYS[3], rateField, fmt(a.alpha * r + (1 - a.alpha) * e[1]) .. ',' .. fmt(e[2] + 1))
    else
      redis.call('HSET', KEYS[3], rateField, fmt(r) .. ',1')
    end
  end
end
touch(KEYS, a.stateTtlMs)
return live
