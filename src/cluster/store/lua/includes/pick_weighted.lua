-- @include round2
-- `weighted`: the next turn of smooth weighted round robin, as nginx does it (selection/weighted.ts).
local function pick_weighted(cands)
  local total = 0
  local best = cands[1]
  local bestCurrent = -math.huge
  local swrr = {}
  for _, c in ipairs(cands) do
    local current = c.server.swrrCurrent + c.effectiveWeight
    swrr[c.server.id] = current
    total = total + c.effectiveWeight
    if current > bestCurrent then
      bestCurrent = current
      best = c
    end
  end
  swrr[best.server.id] = bestCurrent - total
  return best, 'weighted: smooth weighted round robin turn (weight ' .. round2(best.effectiveWeight) .. ' of ' .. round2(total) .. ')', nil, swrr
end
