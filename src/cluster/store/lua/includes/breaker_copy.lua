-- A shallow copy of a table (breaker states and options are never changed in place).
local function breaker_copy(b)
  local c = {}
  for k, v in pairs(b) do c[k] = v end
  return c
end
