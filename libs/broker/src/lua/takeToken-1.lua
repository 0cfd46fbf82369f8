--[[
  Token bucket: takes one token if there is one. Time comes from the Redis server, so every
  gateway replica sees the same clock; the bucket expires once it would be full again.

  KEYS[1] the bucket
  ARGV[1] refill per second      ARGV[2] capacity

  Returns {1, tokens left} or {0, ms until a token is there}
]]
local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil or at == nil then
  tokens = capacity
  at = now
end
tokens = math.min(capacity, tokens + math.max(0, now - at) * rate / 1000)
local ttl = math.ceil(capacity / rate) + 1
if tokens < 1 then
  redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', now)
  redis.call('EXPIRE', KEYS[1], ttl)
  return {0, math.ceil((1 - tokens) * 1000 / rate)}
end
tokens = tokens - 1
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', now)
redis.call('EXPIRE', KEYS[1], ttl)
return {1, math.floor(tokens)}
