-- Now in ms on Redis's own clock (TIME), the one every worker shares; `testNow` stands in for it in tests.
local function clock_now(testNow)
  if type(testNow) == 'number' then return testNow end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
