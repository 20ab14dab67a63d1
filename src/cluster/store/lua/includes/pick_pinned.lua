-- `pinned`: the one server the caller left allowed, as planning/ placed the scene (selection/pinned.ts).
local function pick_pinned(cands)
  local note = ''
  if #cands > 1 then note = ' (first of ' .. #cands .. ' allowed)' end
  return cands[1], 'pinned: the planned server ' .. cands[1].server.id .. note, nil, nil
end
