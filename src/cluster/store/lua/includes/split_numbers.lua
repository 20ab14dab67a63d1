-- The numbers of a comma-separated stored value, in order.
local function split_numbers(text)
  local out = {}
  for part in string.gmatch(text, '([^,]+)') do
    out[#out + 1] = tonumber(part)
  end
  return out
end
