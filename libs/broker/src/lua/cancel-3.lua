--[[
  Cancels a request that is still waiting for its work: takes it off the work's attached set (so
  the end of the work hands it over to nobody) and marks its record canceled and handed to the
  persist job named ARGV[2], which writes its canceled row. In one step with the end of work
  (endWork takes the attached set atomically), so a request is either handed over with the work's
  outcome or canceled, never both. The caller removes the job when nobody else is attached.

  KEYS[1] requests attached to the work   KEYS[2] the request's record
  KEYS[3] outcome of the work

  ARGV[1] request id                       ARGV[2] persist job id
  ARGV[3] when (ISO-8601)

  Returns {'canceled', requests still attached}
          {'already', when}                canceled before (nothing done)
          {'ended'}                        its work ended, or it was answered from the cache
          {'missing'}                      no such record
]]
if redis.call('EXISTS', KEYS[2]) == 0 then return {'missing'} end
local state = redis.call('HMGET', KEYS[2], 'canceled', 'handed', 'cached')
if state[1] then return {'already', state[1]} end
if state[2] or state[3] or redis.call('EXISTS', KEYS[3]) == 1 then return {'ended'} end
if redis.call('SREM', KEYS[1], ARGV[1]) == 0 then return {'ended'} end
redis.call('HSET', KEYS[2], 'canceled', ARGV[3], 'handed', ARGV[2])
return {'canceled', redis.call('SCARD', KEYS[1])}
