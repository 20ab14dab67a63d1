--[[
  Store one server's capability digest with a TTL. KEYS[1] its capabilities key. ARGV[1] JSON, ARGV[2] TTL (ms).
]]
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
