-- @include breaker_admit
-- @include memory_use
-- @include slow_start_factor
-- Which servers may take a reservation now, and why the others may not (filterCandidates in selection/filter.ts).
local function filter_candidates(servers, opts, excludeSet, now)
  local f = { admitted = {}, blocked = {}, anyAdmitting = false, excluded = 0, atMax = 0, memory = 0, soonestOpenEnd = math.huge }
  for i, s in ipairs(servers) do
    if excludeSet[s.id] then
      f.excluded = f.excluded + 1
    else
      local ok, trial = breaker_admit(s.breaker, now)
      if ok then f.anyAdmitting = true end
      if s.inFlight >= s.max then
        f.atMax = f.atMax + 1
      else
        local used = memory_use(s, opts)
        if used > opts.memorySkipAbove then
          f.memory = f.memory + 1
        else
          local c = { server = s, index = i - 1, effectiveWeight = s.weight * slow_start_factor(s.breaker, now, opts.slowStartMs),
            trial = trial, pressured = used > opts.memoryPreferBelow }
          if ok then
            f.admitted[#f.admitted + 1] = c
          else
            f.blocked[#f.blocked + 1] = c
            f.soonestOpenEnd = math.min(f.soonestOpenEnd, s.breaker.openUntil)
          end
        end
      end
    end
  end
  return f
end
