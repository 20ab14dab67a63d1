-- Mirror of src/cluster/strategies (filters, panic mode, the four strategies, tie rules).
-- s fields: id, weight, max, inFlight, queueRemaining|nil, queueAgeMs|nil, breaker, ewmaSeconds|nil,
-- samples, system|nil, systemAgeMs|nil, swrrCurrent.

local function memory_use(s, opts)
  local st = s.system
  if st == nil or s.systemAgeMs == nil or s.systemAgeMs > opts.statsStaleMs then return 0 end
  local used = 0
  if st.vramTotal > 0 then used = math.max(used, 1 - st.vramFree / st.vramTotal) end
  if st.ramTotal > 0 then used = math.max(used, 1 - st.ramFree / st.ramTotal) end
  return used
end

local function server_load(s, opts)
  if s.queueRemaining ~= nil and s.queueAgeMs ~= nil and s.queueAgeMs <= opts.queueStaleMs then
    return math.max(s.inFlight, s.queueRemaining)
  end
  return s.inFlight
end

local function ll_score(c)
  return (c.load + 1) / c.effectiveWeight
end

local function ll_less(a, b, unknown)
  local sa, sb = ll_score(a), ll_score(b)
  if sa ~= sb then return sa < sb end
  local ea = a.server.ewmaSeconds or unknown
  local eb = b.server.ewmaSeconds or unknown
  if ea ~= eb then return ea < eb end
  return a.server.id < b.server.id
end

local function pick_least_loaded(cands, unknown)
  local best = cands[1]
  for i = 2, #cands do
    if ll_less(cands[i], best, unknown) then best = cands[i] end
  end
  return best
end

local function r2(x)
  return string.format('%.2f', x)
end

local function strategy_least_loaded(cands)
  local best = pick_least_loaded(cands, math.huge)
  return best, 'leastLoaded: load ' .. best.load .. ' at weight ' .. r2(best.effectiveWeight) .. ' is the lowest of ' .. #cands .. ' candidate(s)', nil, nil
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
  return best, 'weighted: smooth weighted round robin turn (weight ' .. r2(best.effectiveWeight) .. ' of ' .. r2(total) .. ')', nil, swrr
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

local function expected_finish(c)
  return ((c.load + 1) * (c.server.ewmaSeconds or 0)) / c.slowFactor
end

local function strategy_fastest(cands, opts)
  local unmeasured = 0
  for _, c in ipairs(cands) do
    if c.server.samples < opts.minSamples or c.server.ewmaSeconds == nil then unmeasured = unmeasured + 1 end
  end
  if unmeasured > 0 then
    local best = pick_least_loaded(cands, -1)
    return best, 'fastest: exploring (' .. unmeasured .. ' of ' .. #cands .. ' candidate(s) not yet measured for this workflow), least loaded', nil, nil
  end
  local best = cands[1]
  local bestFinish = expected_finish(best)
  for i = 2, #cands do
    local c = cands[i]
    local finish = expected_finish(c)
    local better = finish < bestFinish
    if not better and finish == bestFinish then
      local sa, sb = ll_score(c), ll_score(best)
      if sa ~= sb then better = sa < sb else better = c.server.id < best.server.id end
    end
    if better then
      best = c
      bestFinish = finish
    end
  end
  return best, 'fastest: expected finish ' .. r2(bestFinish) .. ' s', nil, nil
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
          local slow = slow_start_factor(s.breaker, now, opts.slowStartMs)
          local c = { server = s, index = i - 1, slowFactor = slow, effectiveWeight = s.weight * slow,
            load = server_load(s, opts), trial = trial, pressured = used > opts.memoryPreferBelow }
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
  elseif strategy == 'fastest' then
    best, reason, cursor, swrr = strategy_fastest(pool, opts)
  else
    best, reason, cursor, swrr = strategy_least_loaded(pool)
  end
  if #pool < #admitted then reason = reason .. ' (' .. (#admitted - #pool) .. ' skipped for memory pressure)' end
  if best.trial then reason = reason .. '; half-open trial' end
  return { serverId = best.server.id, reason = reason, trial = best.trial, panic = false, cursor = cursor, swrr = swrr }
end
