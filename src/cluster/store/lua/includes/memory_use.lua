-- Highest of VRAM and RAM use (0..1) from fresh system stats, 0 when unknown (memoryUse in selection/filter.ts).
local function memory_use(s, opts)
  local st = s.system
  if st == nil or s.systemAgeMs == nil or s.systemAgeMs > opts.statsStaleMs then return 0 end
  local used = 0
  if st.vramTotal > 0 then used = math.max(used, 1 - st.vramFree / st.vramTotal) end
  if st.ramTotal > 0 then used = math.max(used, 1 - st.ramFree / st.ramTotal) end
  return used
end
