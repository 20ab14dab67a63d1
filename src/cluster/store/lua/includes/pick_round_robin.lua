-- `roundRobin`: the next candidate at or after the shared cursor, in server-list order (selection/roundRobin.ts).
local function pick_round_robin(cands, n, rrCursor)
  local cursor = ((rrCursor % n) + n) % n
  local best = cands[1]
  local bestDistance = math.huge
  for _, c in ipairs(cands) do
    local distance = (c.index - cursor + n) % n
    if distance < bestDistance then
      bestDistance = distance
      best = c
    end
  end
  return best, 'roundRobin: next in turn (position ' .. (best.index + 1) .. ' of ' .. n .. ')', (best.index + 1) % n, nil
end
