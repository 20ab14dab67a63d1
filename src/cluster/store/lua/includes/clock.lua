-- The time of every script: Redis's own clock (TIME), never the calling worker's, so workers whose
-- clocks disagree still agree on when a lease expires or a breaker closes. `testNow` (tests only)
-- stands in for it, so that a test can run this store and the in-process one on the same clock.
-- Redis 5+ replicates a script's effects, so TIME may come before writes.
local function clock_now(testNow)
  if type(testNow) == 'number' then return testNow end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
