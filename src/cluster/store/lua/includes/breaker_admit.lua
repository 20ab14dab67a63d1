-- Whether the breaker admits a scene now, and whether that scene is its half-open trial (admit in breaker.ts).
local function breaker_admit(b, now)
  if not b.open then return true, false end
  if now < b.openUntil then return false, false end
  if b.trialUntil > now then return false, false end
  return true, true
end
