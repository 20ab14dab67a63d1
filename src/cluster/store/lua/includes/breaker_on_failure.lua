-- @include breaker_copy
-- @include breaker_open_for
-- The breaker after a transient failure: opens at the threshold, re-opens a half-open one (onFailure in breaker.ts).
local function breaker_on_failure(b, now, random, opts)
  local failures = b.failures + 1
  if b.open then
    if now < b.openUntil then
      local c = breaker_copy(b)
      c.failures = failures; c.lastFailureAt = now
      return c
    end
    return breaker_open_for(b, failures, now, random, opts)
  end
  if failures >= opts.threshold then return breaker_open_for(b, failures, now, random, opts) end
  local c = breaker_copy(b)
  c.failures = failures; c.lastFailureAt = now
  return c
end
