--[[
  Drops one holder of an image; after the last one the bytes live on for the retention time (for
  annotated images), or go at once when it is 0.

  KEYS[1] image bytes    KEYS[2] the image's holders
  ARGV[1] holder         ARGV[2] retention (s)
]]
redis.call('SREM', KEYS[2], ARGV[1])
if redis.call('SCARD', KEYS[2]) == 0 then
  if tonumber(ARGV[2]) > 0 then redis.call('EXPIRE', KEYS[1], ARGV[2]) else redis.call('DEL', KEYS[1]) end
end
return 1
