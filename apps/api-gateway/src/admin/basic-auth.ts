import type { NextFunction, Request, Response } from 'express';
import { createHash, timingSafeEqual } from 'node:crypto';
import { sendApiError } from '../access/respond';
import { ApiError } from '../errors/api-error';
import { type LoginLimiter, loginClient } from './login-limiter';

export interface Credentials {
  user: string;
  password: string;
}

/** Reads `Authorization: Basic base64(user:password)`; null when absent or malformed. */
export function parseBasicAuth(header: string | undefined): Credentials | null {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!match?.[1]) return null;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** Constant-time comparison of two strings of any lengths (compares their digests). */
export function safeEqual(a: string, b: string): boolean {
  const da = createHash('sha256').update(a, 'utf8').digest();
  const db = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(da, db);
}

/**
 * Express middleware: HTTP basic auth against one user; 401 with a JSON error and a challenge
 * otherwise. Wrong credentials count against the client's address (`limiter`); a client over
 * the limit gets 429 with Retry-After and its credentials are not even compared until its window
 * ends, so guessing goes no faster for knowing the answer. A request without credentials (a
 * browser's first visit, before it asks for them) is no attempt and counts nothing. Right
 * credentials cost one counter read and no delay.
 */
export function basicAuth(expected: Credentials, realm: string, limiter: LoginLimiter) {
  const noStore = { 'Cache-Control': 'no-store' };
  /** Sends the refusal and returns false, or returns true to let the request in. */
  const admit = async (req: Request, res: Response): Promise<boolean> => {
    const client = loginClient(req.ip ?? req.socket.remoteAddress);
    const standing = await limiter.standing(client);
    if (standing.retryAfterMs > 0) {
      const seconds = Math.max(1, Math.ceil(standing.retryAfterMs / 1000));
      sendApiError(res, new ApiError('rate_limited', `Too many failed sign-ins to ${realm} from this address; retry after ${seconds} s`, { ...noStore, 'Retry-After': String(seconds) }));
      return false;
    }
    const header = req.header('authorization');
    const given = parseBasicAuth(header);
    // Both compared every time: no early exit that tells which one was wrong.
    const userOk = safeEqual(given?.user ?? '', expected.user);
    const passwordOk = safeEqual(given?.password ?? '', expected.password);
    if (given && userOk && passwordOk) {
      if (standing.failures > 0) await limiter.succeeded(client);
      return true;
    }
    if (header !== undefined) await limiter.failed(client);
    sendApiError(
      res,
      new ApiError('unauthorized', `${realm} needs the admin user and password (HTTP basic auth)`, { ...noStore, 'WWW-Authenticate': `Basic realm="${realm}", charset="UTF-8"` }),
    );
    return false;
  };
  return (req: Request, res: Response, next: NextFunction): void => {
    admit(req, res).then(
      (ok) => (ok ? next() : undefined),
      // The count lives in Redis; without it sign-ins cannot be limited, so none is let through.
      () => sendApiError(res, new ApiError('unavailable', `${realm} cannot check sign-ins right now (Redis is unavailable); retry shortly`, { ...noStore, 'Retry-After': '2' })),
    );
  };
}
