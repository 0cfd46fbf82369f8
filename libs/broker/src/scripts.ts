import type { Redis } from 'ioredis';

/**
 * Lua scripts for the steps that must be atomic in Redis. Each one's comment says what it
 * guarantees; docs/adr/0009-work-keys-sharing-and-outcomes.md explains how they fit together.
 */
const SCRIPTS = {
  /**
   * Records a request and either returns the finished outcome of its work (a cache hit) or
   * attaches the request to the work. Because the worker stores the outcome before it releases
   * the job, a request either sees the outcome or is attached before apps/results reads the
   * attached set: it is never left out.
   * On a miss it notes the job named after the request as the request's (a request that joins
   * another's job says so afterwards with setRequestJob).
   * KEYS: outcome, attached, request. ARGV: requestId, record JSON, request TTL s, attach TTL s.
   */
  argusAdmit: {
    keys: 3,
    lua: `
      local outcome = redis.call('GET', KEYS[1])
      redis.call('HSET', KEYS[3], 'record', ARGV[2])
      redis.call('EXPIRE', KEYS[3], ARGV[3])
      if outcome then
        redis.call('HSET', KEYS[3], 'cached', '1')
        return outcome
      end
      redis.call('SADD', KEYS[2], ARGV[1])
      redis.call('EXPIRE', KEYS[2], ARGV[4])
      redis.call('HSET', KEYS[3], 'jobId', ARGV[1])
      return false`,
  },
  /**
   * Stores image bytes and registers a holder (a job id). Holders are a set, so releasing twice
   * (a retried job) is harmless.
   * KEYS: image, holders. ARGV: bytes, holder, TTL s.
   */
  argusHoldImage: {
    keys: 2,
    lua: `
      redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3])
      redis.call('SADD', KEYS[2], ARGV[2])
      redis.call('EXPIRE', KEYS[2], ARGV[3])
      return 1`,
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
   * Ends a piece of work: stores its outcome (result or failure) and releases the job's hold on
   * the image, in one step. Runs before the job is marked finished in BullMQ.
   * KEYS: outcome, image, holders. ARGV: outcome JSON, outcome TTL s, holder, retention s.
   */
  argusFinishWork: {
    keys: 3,
    lua: `
      redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
      redis.call('SREM', KEYS[3], ARGV[3])
      if redis.call('SCARD', KEYS[3]) == 0 then
        if tonumber(ARGV[4]) > 0 then redis.call('EXPIRE', KEYS[2], ARGV[4]) else redis.call('DEL', KEYS[2]) end
      end
      return 1`,
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
