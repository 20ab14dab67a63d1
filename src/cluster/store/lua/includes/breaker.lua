-- Mirror of src/cluster/breaker.ts (same transitions, same arithmetic).
local function breaker_decode(text)
  if not text then
    return { open = false, failures = 0, ejections = 0, openUntil = 0, trialUntil = 0, lastFailureAt = 0, lastOpenedAt = 0, recoveredAt = 0 }
  end
  local n = split_numbers(text)
  return { open = n[1] == 1, failures = n[2] or 0, ejections = n[3] or 0, openUntil = n[4] or 0, trialUntil = n[5] or 0,
    lastFailureAt = n[6] or 0, lastOpenedAt = n[7] or 0, recoveredAt = n[8] or 0 }
end

local function breaker_encode(b)
  return table.concat({ b.open and 1 or 0, fmt(b.failures), fmt(b.ejections), fmt(b.openUntil), fmt(b.trialUntil),
    fmt(b.lastFailureAt), fmt(b.lastOpenedAt), fmt(b.recoveredAt) }, ',')
end

local function breaker_copy(b)
  local c = {}
  for k, v in pairs(b) do c[k] = v end
  return c
end

-- returns admitted, trial
local function breaker_admit(b, now)
  if not b.open then return true, false end
  if now < b.openUntil then return false, false end
  if b.trialUntil > now then return false, false end
  return true, true
end

local function breaker_on_success(b, now, opts)
  local c = breaker_copy(b)
  if b.open then
    if now < b.openUntil then return c end
    c.open = false; c.failures = 0; c.openUntil = 0; c.trialUntil = 0; c.recoveredAt = now
    return c
  end
  local quiet = b.ejections > 0 and (now - b.lastOpenedAt) > opts.capMs
  c.failures = 0
  if quiet then c.ejections = 0 end
  return c
end

local function breaker_open_for(b, failures, now, random, opts)
  local base = math.min(opts.capMs, opts.baseMs * math.pow(2, b.ejections))
  local duration = math.floor(math.min(opts.capMs, base * (1 + opts.jitter * (2 * random - 1))))
  local c = breaker_copy(b)
  c.open = true; c.failures = failures; c.ejections = b.ejections + 1; c.openUntil = now + duration
  c.trialUntil = 0; c.lastFailureAt = now; c.lastOpenedAt = now
  return c
end

local function breaker_on_failure(b, now, random, opts)
  local failures = b.failures + 1
  if b.open then
    if now < b.openUntil then
      local c = breaker_copy(b)
      c.failures = failures; c.lastFailureAt = now
      return c
    end
    return breaker_open_for(b, failures, now, random, opts)
  end
  if failures >= opts.threshold then return breaker_open_for(b, failures, now, random, opts) end
  local c = breaker_copy(b)
  c.failures = failures; c.lastFailureAt = now
  return c
end

local function slow_start_factor(b, now, slowStartMs)
  if b.open or b.recoveredAt <= 0 or slowStartMs <= 0 then return 1 end
  local elapsed = now - b.recoveredAt
  if elapsed >= slowStartMs then return 1 end
  return math.max(0.1, elapsed / slowStartMs)
end
