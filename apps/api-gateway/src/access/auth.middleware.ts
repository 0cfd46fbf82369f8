import { Metrics } from '@argus/observability';
import { Injectable } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { Counter } from 'prom-client';
import { ApiError } from '../errors/api-error';
import { contextOf } from '../http/request-context';
import { RateLimiter } from './rate-limiter.service';
import { isProtectedPath } from './protected-paths';
import { KeyVerifier } from './key-verifier.service';
import { sendApiError } from './respond';

const BEARER = /^Bearer\s+(\S+)\s*$/i;

/** The key a request presents: `x-api-key`, else `Authorization: Bearer <key>`. */
export function presentedKey(req: Request): string | undefined {
  const header = req.headers['x-api-key'];
  const direct = Array.isArray(header) ? header[0] : header;
  if (direct && direct.trim().length > 0) return direct.trim();
  const bearer = BEARER.exec(req.headers.authorization ?? '');
  return bearer?.[1];
}

/**
 * API keys and per-key rate limits on /v1 and /graphql (see protected-paths.ts). Runs before
 * body parsing, so a stranger's upload is never read: 401 without a valid key, 429 with
 * Retry-After over the key's rate, 503 when the key cannot be checked now. On success the
 * client's id and allowed priorities go into req.argus (idempotency scope, rows, 403 checks).
 */
@Injectable()
export class AuthMiddleware {
  private readonly failures: Counter<'reason'>;
  private readonly limited: Counter<'client'>;

  constructor(
    private readonly verifier: KeyVerifier,
    private readonly limiter: RateLimiter,
    metrics: Metrics,
  ) {
    this.failures = new Counter({
      name: 'argus_auth_failures_total',
      help: 'Requests refused by API key checks, by reason (missing, invalid, unavailable).',
      labelNames: ['reason'],
      registers: [metrics.registry],
    });
    this.limited = new Counter({
      name: 'argus_rate_limited_total',
      help: 'Requests refused with 429 by the per-key rate limit, by client id.',
      labelNames: ['client'],
      registers: [metrics.registry],
    });
  }

  readonly handle = (req: Request, res: Response, next: NextFunction): void => {
    if (!isProtectedPath(req.path)) return next();
    // OPTIONS never needs a key (CORS preflights carry none by design); answerOptions ends them before this.
    if (req.method === 'OPTIONS') return next();
    this.authenticate(req, res).then(
      (ok) => (ok ? next() : undefined),
      (error: unknown) => sendApiError(res, error instanceof ApiError ? error : new ApiError('internal_error', 'Authentication failed unexpectedly')),
    );
  };

  private async authenticate(req: Request, res: Response): Promise<boolean> {
    const key = presentedKey(req);
    if (!key) {
      this.failures.inc({ reason: 'missing' });
      res.setHeader('WWW-Authenticate', 'Bearer realm="argus"');
      sendApiError(res, new ApiError('unauthorized', 'An API key is required: send it as x-api-key or Authorization: Bearer <key>'));
      return false;
    }
    let grant;
    try {
      grant = await this.verifier.verify(key);
    } catch (error) {
      this.failures.inc({ reason: 'unavailable' });
      throw error;
    }
    if (!grant) {
      this.failures.inc({ reason: 'invalid' });
      res.setHeader('WWW-Authenticate', 'Bearer realm="argus", error="invalid_token"');
      sendApiError(res, new ApiError('unauthorized', 'The API key is not valid (unknown or revoked)'));
      return false;
    }
    const decision = await this.limiter.take(grant.clientId, grant.rateLimit);
    if (!decision.allowed) {
      this.limited.inc({ client: grant.clientId });
      const seconds = Math.max(1, Math.ceil(decision.retryAfterMs / 1000));
      sendApiError(
        res,
        new ApiError('rate_limited', `Too many requests for this API key (${decision.limit.perSecond}/s, burst ${decision.limit.burst}); retry after ${seconds} s`, {
          'Retry-After': String(seconds),
        }),
      );
      return false;
    }
    req.argus = { ...contextOf(req), clientId: grant.clientId, priorities: grant.priorities, admin: grant.scopes.includes('admin') };
    return true;
  }
}
