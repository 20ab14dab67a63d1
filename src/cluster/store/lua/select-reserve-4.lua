--[[
  Select a server and reserve a lease on it, in one step.
  ARGV[1] JSON { leaseId, leaseTtlMs, strategy: 'weighted'|'roundRobin'|'pinned', servers: [{id, weight, max}],
                 exclude: [ids], options: SelectionOptions, stateTtlMs, testNow? }
  Returns JSON { serverId, reason, trial, panic } or { none }.
]]
-- @include clock_now
-- @include lease_server
-- @include split_numbers
-- @include breaker_decode
-- @include breaker_copy
-- @include breaker_encode
-- @include fmt
-- @include choose
-- @include touch

-- KEYS in the one order of store/keys.ts (KEY_ORDER).
local leasesKey, breakerKey, statsKey, rrKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local a = cjson.decode(ARGV[1])
local now = clock_now(a.testNow)
redis.call('ZREMRANGEBYSCORE', leasesKey, '-inf', now)
local inflight = {}
for _, member in ipairs(redis.call('ZRANGE', leasesKey, 0, -1)) do
  local id = lease_server(member)
  inflight[id] = (inflight[id] or 0) + 1
end

local ids, rrFields = {}, { 'cursor' }
for i, s in ipairs(a.servers) do
  ids[i] = s.id
  rrFields[i + 1] = 'w:' .. s.id
end
if #ids == 0 then return cjson.encode({ none = 'no server is free: the server list is empty' }) end
local breakers = redis.call('HMGET', breakerKey, unpack(ids))
local stats = redis.call('HMGET', statsKey, unpack(ids))
local rr = redis.call('HMGET', rrKey, unpack(rrFields))

local servers = {}
for i, spec in ipairs(a.servers) do
  local s = { id = spec.id, weight = spec.weight, max = spec.max, inFlight = inflight[spec.id] or 0,
    breaker = breaker_decode(breakers[i] or nil), swrrCurrent = 0 }
  if stats[i] then
    local st = split_numbers(stats[i])
    s.system = { vramFree = st[1], vramTotal = st[2], ramFree = st[3], ramTotal = st[4] }
    s.systemAgeMs = now - st[5]
  end
  if rr[i + 1] then s.swrrCurrent = tonumber(rr[i + 1]) end
  servers[i] = s
end

local excludeSet = {}
for _, id in ipairs(a.exclude) do excludeSet[id] = true end
local cursor = tonumber(rr[1] or '0') or 0

local choice = choose(servers, cursor, a.options, a.strategy, excludeSet, now)
if choice.none then return cjson.encode({ none = choice.none }) end

if choice.cursor ~= nil then redis.call('HSET', rrKey, 'cursor', choice.cursor) end
if choice.swrr ~= nil then
  for id, current in pairs(choice.swrr) do redis.call('HSET', rrKey, 'w:' .. id, fmt(current)) end
end
if choice.trial then
  for _, s in ipairs(servers) do
    if s.id == choice.serverId then
      local b = breaker_copy(s.breaker)
      b.trialUntil = now + a.leaseTtlMs
      redis.call('HSET', breakerKey, s.id, breaker_encode(b))
    end
  end
end
redis.call('ZADD', leasesKey, now + a.leaseTtlMs, choice.serverId .. '|' .. a.leaseId)
touch(KEYS, a.stateTtlMs)
return cjson.encode({ serverId = choice.serverId, reason = choice.reason, trial = choice.trial, panic = choice.panic })
