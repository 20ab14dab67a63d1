-- @include split_numbers
-- @include fmt
-- Moves the average in `field` of hash `key` towards `x` by `alpha` and counts the sample.
local function ewma_update(key, field, x, alpha)
  local prev = redis.call('HGET', key, field)
  if prev then
    local e = split_numbers(prev)
    redis.call('HSET', key, field, fmt(alpha * x + (1 - alpha) * e[1]) .. ',' .. fmt(e[2] + 1))
  else
    redis.call('HSET', key, field, fmt(x) .. ',1')
  end
end
