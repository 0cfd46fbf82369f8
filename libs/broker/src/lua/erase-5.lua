--[[
  Erases what Redis keeps of a finished request: its cached outcome (out of the cache's index
  too), its record, and its image bytes unless a job still needs them (an image is keyed by its
  hash, so another request's waiting job may hold the same bytes).

  KEYS[1] outcome of the work     KEYS[2] index of stored outcomes
  KEYS[3] image bytes             KEYS[4] the image's holders
  KEYS[5] the request's record

  ARGV[1] work key (its member in the index)

  Returns {outcome deleted, image deleted}
]]
local outcome = redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
local image = 0
if redis.call('SCARD', KEYS[4]) == 0 then image = redis.call('DEL', KEYS[3]) end
redis.call('DEL', KEYS[5])
return {outcome, image}
