-- A number rounded to two decimals, printed as round2 in selection/weighted.ts prints it.
local function round2(x)
  return math.floor(x * 100 + 0.5) / 100
end
