--[[
  Admits a request in one step, so no half state is left if the gateway dies afterwards: claims
  its Idempotency-Key (when it has one), records the request, enters it in the ledger of accepted
  requests not yet persisted (the reconciler finishes whatever a crash leaves), and either answers
  it from the finished outcome of its work (a cache hit) or attaches it to the work and holds its
  image bytes for the job named after it. The worker stores the outcome and takes the attached set
  in one step (endWork), so a request either sees the outcome or is handed over with the others.

  KEYS[1] outcome of the work        KEYS[2] requests attached to the work
  KEYS[3] the request's record       KEYS[4] image bytes
  KEYS[5] the image's holders        KEYS[6] ledger of unpersisted requests
  KEYS[7] the Idempotency-Key's claim (ignored when ARGV[7] is empty)

  ARGV[1] request id                 ARGV[2] record JSON
  ARGV[3] request TTL (s)            ARGV[4] image bytes
  ARGV[5] image TTL (s)              ARGV[6] ledger score (ms: when the reconciler may look at it)
  ARGV[7] idempotency fingerprint    ARGV[8] idempotency TTL (s)

  Returns {'replay', request id, fingerprint}  the key was claimed before (nothing else done)
          {'hit', outcome JSON}                answered from the cache
          {'miss'}                             attached; the caller adds (or joins) the job
]]
if ARGV[7] ~= '' then
  local claimed = redis.call('HMGET', KEYS[7], 'request', 'fingerprint')
  if claimed[1] then return {'replay', claimed[1], claimed[2] or ''} end
  redis.call('HSET', KEYS[7], 'request', ARGV[1], 'fingerprint', ARGV[7])
  redis.call('EXPIRE', KEYS[7], ARGV[8])
end
redis.call('HSET', KEYS[3], 'record', ARGV[2])
redis.call('EXPIRE', KEYS[3], ARGV[3])
redis.call('ZADD', KEYS[6], ARGV[6], ARGV[1])
local outcome = redis.call('GET', KEYS[1])
if outcome then
  redis.call('HSET', KEYS[3], 'cached', '1')
  return {'hit', outcome}
end
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[3])
redis.call('HSET', KEYS[3], 'jobId', ARGV[1])
redis.call('SET', KEYS[4], ARGV[4], 'EX', ARGV[5])
redis.call('SADD', KEYS[5], ARGV[1])
redis.call('EXPIRE', KEYS[5], ARGV[5])
return {'miss'}
