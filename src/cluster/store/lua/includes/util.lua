-- Shared helpers. Numbers are stored with 17 significant digits so they read back exactly as the
-- doubles the TypeScript stores hold.
local function fmt(x)
  return string.format('%.17g', x)
end

local function split_numbers(text)
  local out = {}
  for part in string.gmatch(text, '([^,]+)') do
    out[#out + 1] = tonumber(part)
  end
  return out
end

local function touch(keys, ttl)
  if ttl > 0 then
    for _, key in ipairs(keys) do
      redis.call('PEXPIRE', key, ttl)
    end
  end
end

local function lease_server(member)
  return string.sub(member, 1, string.find(member, '|', 1, true) - 1)
end
