import type { Redis } from 'ioredis';

/**
 * Lua scripts for the steps that must be atomic in Redis. Each one's comment says what it
 * guarantees; docs/adr/0009-work-keys-sharing-and-outcomes.md explains how they fit together.
 */
const SCRIPTS = {
  /**
   * Records a request and either answers it from the finished outcome of its work (a cache hit:
   * the hit goes on the results stream for apps/results to persist) or attaches the request to
   * the work and holds its image bytes for the job named after it. The worker stores the outcome
   * and takes the attached set in one step (argusEndWork), so a request either sees the outcome
   * or is handed over with the others: it is never left out.
   * On a miss it notes the job named after the request as the request's (a request that joins
   * another's job says so afterwards with setRequestJob, and releases its image hold).
   * KEYS: outcome, attached, request, image, image holders, results stream.
   * ARGV: requestId, record JSON, request TTL s, attach TTL s, image bytes, image TTL s, workKey.
   */
  argusAdmit: {
    keys: 6,
    lua: `
      local outcome = redis.call('GET', KEYS[1])
      redis.call('HSET', KEYS[3], 'record', ARGV[2])
      redis.call('EXPIRE', KEYS[3], ARGV[3])
      if outcome then
        redis.call('HSET', KEYS[3], 'cached', '1')
        redis.call('XADD', KEYS[6], '*', 'kind', 'cached', 'workKey', ARGV[7], 'outcome', outcome, 'records', '[' .. ARGV[2] .. ']')
        return outcome
      end
      redis.call('SADD', KEYS[2], ARGV[1])
      redis.call('EXPIRE', KEYS[2], ARGV[4])
      redis.call('HSET', KEYS[3], 'jobId', ARGV[1])
      redis.call('SET', KEYS[4], ARGV[5], 'EX', ARGV[6])
      redis.call('SADD', KEYS[5], ARGV[1])
      redis.call('EXPIRE', KEYS[5], ARGV[6])
      return false`,
  },
  /**
   * Drops a holder; after the last one the bytes live on for the retention time (annotated images).
   * KEYS: image, holders. ARGV: holder, retention s.
   */
  argusReleaseImage: {
    keys: 2,
    lua: `
      redis.call('SREM', KEYS[2], ARGV[1])
      if redis.call('SCARD', KEYS[2]) == 0 then
        if tonumber(ARGV[2]) > 0 then redis.call('EXPIRE', KEYS[1], ARGV[2]) else redis.call('DEL', KEYS[1]) end
      end
      return 1`,
  },
  /**
   * Ends a piece of work, in one step: stores its outcome (for ARGV[2] seconds; 0: not at all),
   * releases the job's hold on the image, and hands every request attached to the work to
   * apps/results as one message on the results stream: the end (kind, meta: job id, attempts...),
   * the outcome and the requests' records (the set is emptied: a request attaches only while no
   * outcome is stored, so after this it is complete). The outcome crosses the network once and
   * serves both. Runs before the job is marked finished in BullMQ. Returns how many requests were
   * handed over.
   * KEYS: outcome, image, holders, attached, results stream.
   * ARGV: outcome JSON, outcome TTL s, holder, retention s, kind, meta JSON, request key prefix.
   */
  argusEndWork: {
    keys: 5,
    lua: `
      if tonumber(ARGV[2]) > 0 then redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2]) end
      redis.call('SREM', KEYS[3], ARGV[3])
      if redis.call('SCARD', KEYS[3]) == 0 then
        if tonumber(ARGV[4]) > 0 then redis.call('EXPIRE', KEYS[2], ARGV[4]) else redis.call('DEL', KEYS[2]) end
      end
      local ids = redis.call('SMEMBERS', KEYS[4])
      if #ids == 0 then return 0 end
      local records, missing = {}, {}
      for _, id in ipairs(ids) do
        local record = redis.call('HGET', ARGV[7] .. id, 'record')
        if record then records[#records + 1] = record else missing[#missing + 1] = id end
      end
      local lost = '[]'
      if #missing > 0 then lost = cjson.encode(missing) end
      redis.call('XADD', KEYS[5], '*', 'kind', ARGV[5], 'meta', ARGV[6], 'outcome', ARGV[1], 'records', '[' .. table.concat(records, ',') .. ']', 'missing', lost)
      redis.call('DEL', KEYS[4])
      return #ids`,
  },
  /**
   * Claims an Idempotency-Key for a request, or returns who holds it.
   * KEYS: idempotency. ARGV: requestId, fingerprint, TTL s. Returns nil or {requestId, fingerprint}.
   */
  argusClaimIdempotency: {
    keys: 1,
    lua: `
      local existing = redis.call('HMGET', KEYS[1], 'request', 'fingerprint')
      if existing[1] then return existing end
      redis.call('HSET', KEYS[1], 'request', ARGV[1], 'fingerprint', ARGV[2])
      redis.call('EXPIRE', KEYS[1], ARGV[3])
      return false`,
  },
  /**
   * Token bucket: takes one token if there is one. Time comes from the Redis server, so every
   * gateway replica sees the same clock; the bucket expires once it would be full again.
   * KEYS: bucket. ARGV: refill per second, capacity.
   * Returns {1, tokens left} or {0, ms until a token is there}.
   */
  argusTakeToken: {
    keys: 1,
    lua: `
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
      return {1, math.floor(tokens)}`,
  },
} as const;

export type ScriptName = keyof typeof SCRIPTS;
type Arg = string | Buffer | number;

/** Registers Argus's scripts on a connection (idempotent). */
export function defineScripts(redis: Redis): void {
  for (const [name, script] of Object.entries(SCRIPTS)) {
    if (!(name in redis)) redis.defineCommand(name, { numberOfKeys: script.keys, lua: script.lua });
  }
}

/** Calls one of Argus's scripts (EVALSHA, falling back to EVAL once per connection). */
export function runScript(redis: Redis, name: ScriptName, keys: string[], args: Arg[]): Promise<unknown> {
  defineScripts(redis);
  const command = (redis as unknown as Record<ScriptName, (...a: Arg[]) => Promise<unknown>>)[name];
  return command.call(redis, ...keys, ...args);
}
