-- @include fmt
-- A breaker state as stored text, as encodeBreaker in breaker.ts.
local function breaker_encode(b)
  return table.concat({ b.open and 1 or 0, fmt(b.failures), fmt(b.ejections), fmt(b.openUntil), fmt(b.trialUntil),
    fmt(b.lastFailureAt), fmt(b.lastOpenedAt), fmt(b.recoveredAt) }, ',')
end
