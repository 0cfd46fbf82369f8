--[[
  Ends a piece of work in one step: stores its outcome (the result cache, bounded in entries),
  releases the job's hold on the image, takes every request attached to the work (the set is
  emptied: a request attaches only while no outcome is stored, so after this it is complete),
  marks each as handed over to the persist job named ARGV[6], and announces the end to waiting
  gateways. Runs before the caller adds the persist job and before BullMQ finishes the job; a
  crash in between leaves the requests in the ledger, marked, for the reconciler. Safe to repeat:
  a second call finds nobody attached.

  KEYS[1] outcome of the work        KEYS[2] image bytes
  KEYS[3] the image's holders        KEYS[4] requests attached to the work
  KEYS[5] index of stored outcomes (for the entry bound)

  ARGV[1] outcome JSON               ARGV[2] outcome TTL (s; 0: not stored)
  ARGV[3] holder (the job)           ARGV[4] image retention after the last holder (s)
  ARGV[5] request key prefix         ARGV[6] persist job id
  ARGV[7] most outcomes stored       ARGV[8] outcome key prefix
  ARGV[9] now (ms)                   ARGV[10] events channel
  ARGV[11] event JSON head: the outcome and '}' complete it

  Returns {records JSON array, missing ids JSON array}
]]
if tonumber(ARGV[2]) > 0 then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
  redis.call('ZADD', KEYS[5], ARGV[9], string.sub(KEYS[1], string.len(ARGV[8]) + 1))
  local over = redis.call('ZCARD', KEYS[5]) - tonumber(ARGV[7])
  if over > 0 then
    local oldest = redis.call('ZPOPMIN', KEYS[5], over)
    for i = 1, #oldest, 2 do redis.call('DEL', ARGV[8] .. oldest[i]) end
  end
end
redis.call('SREM', KEYS[3], ARGV[3])
if redis.call('SCARD', KEYS[3]) == 0 then
  if tonumber(ARGV[4]) > 0 then redis.call('EXPIRE', KEYS[2], ARGV[4]) else redis.call('DEL', KEYS[2]) end
end
redis.call('PUBLISH', ARGV[10], ARGV[11] .. ARGV[1] .. '}')
local ids = redis.call('SMEMBERS', KEYS[4])
if #ids == 0 then return {'[]', '[]'} end
local records, missing = {}, {}
for _, id in ipairs(ids) do
  local key = ARGV[5] .. id
  local record = redis.call('HGET', key, 'record')
  if record then
    records[#records + 1] = record
    redis.call('HSET', key, 'handed', ARGV[6])
  else
    missing[#missing + 1] = id
  end
end
redis.call('DEL', KEYS[4])
local lost = '[]'
if #missing > 0 then lost = cjson.encode(missing) end
return {'[' .. table.concat(records, ',') .. ']', lost}
