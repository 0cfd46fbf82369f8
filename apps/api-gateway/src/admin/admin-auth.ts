import { REDIS } from '@argus/broker';
import { ARGUS_CONFIG, type ArgusConfig } from '@argus/config';
import { Inject, Injectable } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import type { Redis } from 'ioredis';
import { sendApiError } from '../access/respond';
import { ApiError } from '../errors/api-error';
import { basicAuth } from './basic-auth';
import { type LoginLimiter, RedisLoginLimiter } from './login-limiter';

/** Express middleware of one /admin surface. */
export type AdminMiddleware = (req: Request, res: Response, next: NextFunction) => void;

/**
 * The admin's basic auth (ADMIN_USER, ADMIN_PASSWORD) for an /admin surface, with failed
 * sign-ins limited per client address (ADMIN_MAX_FAILED_LOGINS per
 * ADMIN_FAILED_LOGIN_WINDOW_SECONDS). Without credentials configured the surface is off: 404,
 * never open.
 */
export function adminAuth(config: Pick<ArgusConfig, 'admin'>, realm: string, limiter: LoginLimiter): AdminMiddleware {
  const admin = config.admin;
  if (!admin) return (_req, res) => sendApiError(res, new ApiError('not_found', `${realm} is off: set ADMIN_USER and ADMIN_PASSWORD to enable it`));
  return basicAuth(admin, realm, limiter);
}

/** The one place Bull Board and the models admin API get their auth from: one failed-sign-in count for both. */
@Injectable()
export class AdminAuth {
  private readonly limiter: LoginLimiter;

  constructor(
    @Inject(ARGUS_CONFIG) private readonly config: ArgusConfig,
    @Inject(REDIS) redis: Redis,
  ) {
    this.limiter = new RedisLoginLimiter(redis, config.redis.prefix, config.adminLogins);
  }

  /** The middleware of a surface, by the realm its challenge names. */
  middleware(realm: string): AdminMiddleware {
    return adminAuth(this.config, realm, this.limiter);
  }
}
