--[[
  Release a lease and record how its scene ended.
  ARGV[1] JSON { member, keepTtlMs?, kind, workflowKey, executionMs?, work?, error?, loads?, resident?,
                 random, breaker: BreakerOptions, alpha, stateTtlMs, testNow? }
  loads: model key → ms of each load the run paid; resident: the model keys it left loaded.
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
-- @include ewma_update
-- @include touch

-- KEYS in the one order of store/keys.ts (KEY_ORDER).
local leasesKey, breakerKey, queueKey, ewmaKey, errorsKey, modelsKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
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
  local x = a.executionMs / 1000
  ewma_update(ewmaKey, id .. '|' .. a.workflowKey, x, a.alpha)
  -- Seconds per work unit of this server, over every workflow it ran.
  if a.work ~= nil and a.work > 0 then ewma_update(ewmaKey, id .. '|#work', x / a.work, a.alpha) end
end
if a.kind == 'success' then
  if type(a.loads) == 'table' then
    for model, ms in pairs(a.loads) do ewma_update(ewmaKey, id .. '|#load:' .. model, ms / 1000, a.alpha) end
  end
  if type(a.resident) == 'table' then
    -- An empty Lua table encodes as {}: write the empty list as JSON says it.
    local list = '[]'
    if #a.resident > 0 then list = cjson.encode(a.resident) end
    redis.call('HSET', modelsKey, id, fmt(now) .. '|' .. list)
  end
end
touch(KEYS, a.stateTtlMs)
return live
