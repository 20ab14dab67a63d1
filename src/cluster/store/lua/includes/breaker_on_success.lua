-- @include breaker_copy
-- The breaker after the server worked: a half-open breaker closes (onSuccess in breaker.ts).
local function breaker_on_success(b, now, opts)
  local c = breaker_copy(b)
  if b.open then
    if now < b.openUntil then return c end
    c.open = false; c.failures = 0; c.openUntil = 0; c.trialUntil = 0; c.recoveredAt = now
    return c
  end
  local quiet = b.ejections > 0 and (now - b.lastOpenedAt) > opts.capMs
  c.failures = 0
  if quiet then c.ejections = 0 end
  return c
end
