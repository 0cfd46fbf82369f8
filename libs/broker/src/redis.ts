import { Logger } from '@nestjs/common';
import { Redis, type RedisOptions } from 'ioredis';

const logger = new Logger('Redis');
/** Between two log lines about the same connection's errors (a reconnect loop tries every 2 s at most). */
const ERROR_LOG_EVERY_MS = 10_000;

/**
 * Logs an emitter's 'error' events as structured warnings, at most one per 10 s. Without a
 * listener ioredis and BullMQ print raw stacks to stderr on every reconnect attempt.
 */
export function logConnectionErrors(emitter: { on(event: 'error', listener: (error: Error) => void): unknown }, name: string): void {
  emitter.on('error', connectionErrorLogger(name));
}

/** The throttled logger of {@link logConnectionErrors}, for 'error' events wired by a framework. */
export function connectionErrorLogger(name: string): (error: Error) => void {
  let last = 0;
  let suppressed = 0;
  return (error: Error) => {
    if (Date.now() - last < ERROR_LOG_EVERY_MS) {
      suppressed += 1;
      return;
    }
    last = Date.now();
    logger.warn({ msg: 'redis connection error (retrying)', connection: name, error: error.message, suppressed });
    suppressed = 0;
  };
}

export interface ConnectionRole {
  /** Shown in CLIENT LIST, e.g. "argus:gateway". */
  name: string;
  /**
   * Blocking or worker connections retry for ever (BullMQ requires maxRetriesPerRequest null);
   * request-path connections fail fast so the caller can answer 503 instead of hanging.
   */
  failFast: boolean;
}

/** Opens a Redis connection for one role. */
export function createRedis(url: string, role: ConnectionRole, extra: RedisOptions = {}): Redis {
  const redis = new Redis(url, {
    connectionName: role.name,
    maxRetriesPerRequest: role.failFast ? 1 : null,
    enableOfflineQueue: true,
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2000),
    ...extra,
  });
  logConnectionErrors(redis, role.name);
  return redis;
}

/** Resolves once the connection is ready (or rejects after `timeoutMs`). */
export async function waitForRedis(redis: Redis, timeoutMs = 10000): Promise<void> {
  if (redis.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`Redis not ready after ${timeoutMs} ms (status ${redis.status})`));
    }, timeoutMs);
    const onReady = () => {
      cleanup();
      resolve();
    };
    const cleanup = () => {
      clearTimeout(timer);
      redis.off('ready', onReady);
    };
    redis.on('ready', onReady);
  });
}
