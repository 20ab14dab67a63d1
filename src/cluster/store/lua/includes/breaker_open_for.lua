-- @include breaker_copy
-- The breaker opened now, for min(cap, base × 2^ejections) ± jitter (openFor in breaker.ts).
local function breaker_open_for(b, failures, now, random, opts)
  local base = math.min(opts.capMs, opts.baseMs * math.pow(2, b.ejections))
  local duration = math.floor(math.min(opts.capMs, base * (1 + opts.jitter * (2 * random - 1))))
  local c = breaker_copy(b)
  c.open = true; c.failures = failures; c.ejections = b.ejections + 1; c.openUntil = now + duration
  c.trialUntil = 0; c.lastFailureAt = now; c.lastOpenedAt = now
  return c
end
