-- Lets every key of a script live `ttl` ms more (idle state expires; 0 keeps it for ever).
local function touch(keys, ttl)
  if ttl > 0 then
    for _, key in ipairs(keys) do
      redis.call('PEXPIRE', key, ttl)
    end
  end
end
