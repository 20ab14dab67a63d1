-- The weight multiplier (0.1..1) of a server ramping up after its breaker closed (slowStartFactor in breaker.ts).
local function slow_start_factor(b, now, slowStartMs)
  if b.open or b.recoveredAt <= 0 or slowStartMs <= 0 then return 1 end
  local elapsed = now - b.recoveredAt
  if elapsed >= slowStartMs then return 1 end
  return math.max(0.1, elapsed / slowStartMs)
end
