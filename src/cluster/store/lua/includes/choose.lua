-- @include filter_candidates
-- @include no_candidate
-- @include pick_weighted
-- @include pick_round_robin
-- @include pick_pinned
-- The server a reservation gets: { serverId, reason, trial, panic, cursor, swrr } or { none } (selection/choose.ts).
local function choose(servers, rrCursor, opts, strategy, excludeSet, now)
  local f = filter_candidates(servers, opts, excludeSet, now)
  local admitted = f.admitted
  if #admitted == 0 then return no_candidate(f, now) end
  local pool = {}
  for _, c in ipairs(admitted) do
    if not c.pressured then pool[#pool + 1] = c end
  end
  if #pool == 0 then pool = admitted end

  local pick
  if strategy == 'weighted' then
    pick = pick_weighted
  elseif strategy == 'roundRobin' then
    pick = pick_round_robin
  elseif strategy == 'pinned' then
    pick = pick_pinned
  else
    error('unknown strategy ' .. tostring(strategy))
  end
  local best, reason, cursor, swrr = pick(pool, #servers, rrCursor)
  if #pool < #admitted then reason = reason .. ' (' .. (#admitted - #pool) .. ' skipped for memory pressure)' end
  if best.trial then reason = reason .. '; half-open trial' end
  return { serverId = best.server.id, reason = reason, trial = best.trial, panic = false, cursor = cursor, swrr = swrr }
end
