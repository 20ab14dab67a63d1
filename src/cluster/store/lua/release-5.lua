--[[
  Release a lease and record how its scene ended.
  ARGV[1] JSON { member, keepTtlMs?, kind, workflowKey, executionMs?, work?, error?, random,
                 breaker: BreakerOptions, alpha, stateTtlMs, testNow? }
  keepTtlMs: keep the lease (renewed for this long) instead of freeing its slot: the caller's next scene
  already runs on it. A lease that was lost is put back (as retake-1 does).
  Returns 1 when the lease was still live, else 0.
]]
-- @include clock_now
-- @include lease_server
-- @include split_numbers
-- @include breaker_decode
-- @include breaker_encode
-- @include breaker_on_failure
-- @include breaker_on_success
-- @include fmt
-- @include touch

-- KEYS in the one order of store/keys.ts (KEY_ORDER).
local leasesKey, breakerKey, queueKey, ewmaKey, errorsKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local a = cjson.decode(ARGV[1])
local now = clock_now(a.testNow)
local score = redis.call('ZSCORE', leasesKey, a.member)
local live = 0
if score and tonumber(score) > now then live = 1 end
if a.keepTtlMs then
  redis.call('ZADD', leasesKey, now + a.keepTtlMs, a.member)
else
  redis.call('ZREM', leasesKey, a.member)
end
local id = lease_server(a.member)
local b = breaker_decode(redis.call('HGET', breakerKey, id) or nil)

if a.kind == 'transient' then
  redis.call('HSET', breakerKey, id, breaker_encode(breaker_on_failure(b, now, a.random, a.breaker)))
  redis.call('HSET', errorsKey, id, fmt(now) .. '|' .. (a.error or 'transient failure'))
  touch(KEYS, a.stateTtlMs)
  return live
end

-- The prompt left the server's queue: keep the last seen length honest until the next probe.
local q = redis.call('HGET', queueKey, id)
if q then
  local n = split_numbers(q)
  redis.call('HSET', queueKey, id, fmt(math.max(0, n[1] - 1)) .. ',' .. fmt(n[2]))
end

if a.kind == 'cancelled' then
  if b.trialUntil > now then
    b.trialUntil = 0
    redis.call('HSET', breakerKey, id, breaker_encode(b))
  end
  touch(KEYS, a.stateTtlMs)
  return live
end

redis.call('HSET', breakerKey, id, breaker_encode(breaker_on_success(b, now, a.breaker)))
if a.kind == 'success' and a.executionMs ~= nil and a.executionMs >= 0 then
  local field = id .. '|' .. a.workflowKey
  local x = a.executionMs / 1000
  local prev = redis.call('HGET', ewmaKey, field)
  if prev then
    local e = split_numbers(prev)
    redis.call('HSET', ewmaKey, field, fmt(a.alpha * x + (1 - a.alpha) * e[1]) .. ',' .. fmt(e[2] + 1))
  else
    redis.call('HSET', ewmaKey, field, fmt(x) .. ',1')
  end
  -- Seconds per work unit of this server, over every workflow it ran.
  if a.work ~= nil and a.work > 0 then
    local rateField = id .. '|#work'
    local r = x / a.work
    local prevRate = redis.call('HGET', ewmaKey, rateField)
    if prevRate then
      local e = split_numbers(prevRate)
      redis.call('HSET', ewmaKey, rateField, fmt(a.alpha * r + (1 - a.alpha) * e[1]) .. ',' .. fmt(e[2] + 1))
    else
      redis.call('HSET', ewmaKey, rateField, fmt(r) .. ',1')
    end
  end
end
touch(KEYS, a.stateTtlMs)
return live
