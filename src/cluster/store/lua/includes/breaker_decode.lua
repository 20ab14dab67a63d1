-- @include split_numbers
-- A breaker state from its stored text (closed when there is none), as decodeBreaker in breaker.ts.
local function breaker_decode(text)
  if not text then
    return { open = false, failures = 0, ejections = 0, openUntil = 0, trialUntil = 0, lastFailureAt = 0, lastOpenedAt = 0, recoveredAt = 0 }
  end
  local n = split_numbers(text)
  return { open = n[1] == 1, failures = n[2] or 0, ejections = n[3] or 0, openUntil = n[4] or 0, trialUntil = n[5] or 0,
    lastFailureAt = n[6] or 0, lastOpenedAt = n[7] or 0, recoveredAt = n[8] or 0 }
end
