-- Panic (every breaker that could be tried is open) or none, when no server passed the filters (noCandidate.ts).
local function no_candidate(f, now)
  local blocked = f.blocked
  if not f.anyAdmitting and #blocked > 0 then
    local best = blocked[1]
    for i = 2, #blocked do
      if blocked[i].server.breaker.lastFailureAt < best.server.breaker.lastFailureAt then best = blocked[i] end
    end
    return { serverId = best.server.id, reason = 'panic: every server breaker is open; trying the least recently failed one', trial = false, panic = true }
  end
  local parts = {}
  if f.atMax > 0 then parts[#parts + 1] = f.atMax .. ' at their max in-flight' end
  if #blocked > 0 then parts[#parts + 1] = #blocked .. ' with an open breaker (next retry in ' .. math.max(0, math.ceil((f.soonestOpenEnd - now) / 1000)) .. ' s)' end
  if f.memory > 0 then parts[#parts + 1] = f.memory .. ' short of memory' end
  if f.excluded > 0 then parts[#parts + 1] = f.excluded .. ' excluded for this scene' end
  local text = table.concat(parts, ', ')
  if text == '' then text = 'the server list is empty' end
  return { none = 'no server is free: ' .. text }
end
