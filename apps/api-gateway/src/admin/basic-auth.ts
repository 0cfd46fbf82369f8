import type { ErrorBody } from '@argus/contracts';
import type { NextFunction, Request, Response } from 'express';
import { createHash, timingSafeEqual } from 'node:crypto';

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

/** Express middleware: HTTP basic auth against one user; 401 with a JSON error and a challenge otherwise. */
export function basicAuth(expected: Credentials, realm: string) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const given = parseBasicAuth(req.header('authorization'));
    // Both compared every time: no early exit that tells which one was wrong.
    const userOk = safeEqual(given?.user ?? '', expected.user);
    const passwordOk = safeEqual(given?.password ?? '', expected.password);
    if (given && userOk && passwordOk) {
      next();
      return;
    }
    const body: ErrorBody = { error: { code: 'unauthorized', message: `${realm} needs the admin user and password (HTTP basic auth)` } };
    res.setHeader('WWW-Authenticate', `Basic realm="${realm}", charset="UTF-8"`);
    res.setHeader('Cache-Control', 'no-store');
    res.status(401).json(body);
  };
}
