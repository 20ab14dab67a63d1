-- Mirror of src/cluster/store/selection (filters, panic mode, the three picks, tie rules).
-- s fields: id, weight, max, inFlight, breaker, system|nil, systemAgeMs|nil, swrrCurrent.

local function memory_use(s, opts)
  local st = s.system
  if st == nil or s.systemAgeMs == nil or s.systemAgeMs > opts.statsStaleMs then return 0 end
  local used = 0
  if st.vramTotal > 0 then used = math.max(used, 1 - st.vramFree / st.vramTotal) end
  if st.ramTotal > 0 then used = math.max(used, 1 - st.ramFree / st.ramTotal) end
  return used
end

-- Two decimals at most, printed as round2 in store/selection/weighted.ts prints them.
local function round2(x)
  return math.floor(x * 100 + 0.5) / 100
end

local function strategy_weighted(cands)
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

local function strategy_round_robin(cands, n, rrCursor)
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

local function strategy_pinned(cands)
  local note = ''
  if #cands > 1 then note = ' (first of ' .. #cands .. ' allowed)' end
  return cands[1], 'pinned: the planned server ' .. cands[1].server.id .. note, nil, nil
end

-- returns a table: { serverId, reason, trial, panic, cursor, swrr } or { none = reason }
local function choose(servers, rrCursor, opts, strategy, excludeSet, now)
  local admitted, blocked = {}, {}
  local anyAdmitting = false
  local excluded, atMax, memory = 0, 0, 0
  local soonest = math.huge
  for i, s in ipairs(servers) do
    if excludeSet[s.id] then
      excluded = excluded + 1
    else
      local ok, trial = breaker_admit(s.breaker, now)
      if ok then anyAdmitting = true end
      if s.inFlight >= s.max then
        atMax = atMax + 1
      else
        local used = memory_use(s, opts)
        if used > opts.memorySkipAbove then
          memory = memory + 1
        else
          local c = { server = s, index = i - 1, effectiveWeight = s.weight * slow_start_factor(s.breaker, now, opts.slowStartMs),
            trial = trial, pressured = used > opts.memoryPreferBelow }
          if ok then
            admitted[#admitted + 1] = c
          else
            blocked[#blocked + 1] = c
            soonest = math.min(soonest, s.breaker.openUntil)
          end
        end
      end
    end
  end

  if #admitted == 0 then
    if not anyAdmitting and #blocked > 0 then
      local best = blocked[1]
      for i = 2, #blocked do
        if blocked[i].server.breaker.lastFailureAt < best.server.breaker.lastFailureAt then best = blocked[i] end
      end
      return { serverId = best.server.id, reason = "panic: every server breaker is open; trying the least recently failed one", trial = false, panic = true }
    end
    local parts = {}
    if atMax > 0 then parts[#parts + 1] = atMax .. ' at their max in-flight' end
    if #blocked > 0 then parts[#parts + 1] = #blocked .. ' with an open breaker (next retry in ' .. math.max(0, math.ceil((soonest - now) / 1000)) .. ' s)' end
    if memory > 0 then parts[#parts + 1] = memory .. ' short of memory' end
    if excluded > 0 then parts[#parts + 1] = excluded .. ' excluded for this scene' end
    local text = table.concat(parts, ', ')
    if text == '' then text = 'the server list is empty' end
    return { none = 'no server is free: ' .. text }
  end

  local pool = {}
  for _, c in ipairs(admitted) do
    if not c.pressured then pool[#pool + 1] = c end
  end
  if #pool == 0 then pool = admitted end

  local best, reason, cursor, swrr
  if strategy == 'weighted' then
    best, reason, cursor, swrr = strategy_weighted(pool)
  elseif strategy == 'roundRobin' then
    best, reason, cursor, swrr = strategy_round_robin(pool, #servers, rrCursor)
  elseif strategy == 'pinned' then
    best, reason, cursor, swrr = strategy_pinned(pool)
  else
    error('unknown strategy ' .. tostring(strategy))
  end
  if #pool < #admitted then reason = reason .. ' (' .. (#admitted - #pool) .. ' skipped for memory pressure)' end
  if best.trial then reason = reason .. '; half-open trial' end
  return { serverId = best.server.id, reason = reason, trial = best.trial, panic = false, cursor = cursor, swrr = swrr }
end
