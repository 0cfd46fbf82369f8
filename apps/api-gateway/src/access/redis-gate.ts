import type { NextFunction, Request, Response } from 'express';
import type { Redis } from 'ioredis';
import { isProtectedPath } from './protected-paths';
import { sendApiError } from './respond';
import { ApiError } from '../errors/api-error';

/** What a client is told to wait while Redis is away. */
export const REDIS_RETRY_AFTER_S = 2;

/**
 * While the gateway's Redis connection is not ready, work that needs Redis (every submission and
 * any GraphQL operation) is answered at once with 503 + Retry-After rather than queued behind a
 * reconnecting client. Reads (GET) go on: a persisted result comes from apps/results. ioredis
 * reconnects by itself; the gate opens again with the connection.
 */
export function redisGate(redis: Redis): (req: Request, res: Response, next: NextFunction) => void {
  return (req, res, next) => {
    if (redis.status === 'ready' || req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS' || !isProtectedPath(req.path)) return next();
    sendApiError(res, new ApiError('unavailable', 'The queue (Redis) is unavailable; retry shortly', { 'Retry-After': String(REDIS_RETRY_AFTER_S) }));
  };
}
