import { Redis, type RedisOptions } from 'ioredis';

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
  return new Redis(url, {
    connectionName: role.name,
    maxRetriesPerRequest: role.failFast ? 1 : null,
    enableOfflineQueue: true,
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2000),
    ...extra,
  });
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
