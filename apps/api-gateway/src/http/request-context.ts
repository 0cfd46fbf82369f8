import { CORRELATION_HEADER, correlationIdFrom, withCorrelation } from '@argus/observability';
import type { Priority } from '@argus/contracts';
import type { NextFunction, Request, Response } from 'express';

/** Per-request context the gateway attaches to Express requests. */
export interface ArgusRequestContext {
  correlationId: string;
  /** The authenticated client (an API key's id); 'anonymous' when keys are not in use. */
  clientId: string;
  /** Priorities the client's key may ask for (set by the auth middleware; absent: none checked yet). */
  priorities?: readonly Priority[];
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      argus?: ArgusRequestContext;
    }
  }
}

/**
 * Gives every request a correlation id (the client's X-Correlation-Id if sane, else a new one),
 * echoes it in the response, and runs the rest of the request inside it so every log line and
 * job carries it.
 */
export function correlationMiddleware(req: Request, res: Response, next: NextFunction): void {
  const correlationId = correlationIdFrom(req.header(CORRELATION_HEADER));
  req.argus = { correlationId, clientId: req.argus?.clientId ?? 'anonymous' };
  res.setHeader(CORRELATION_HEADER, correlationId);
  withCorrelation(correlationId, next);
}

/** The context of a request (set by {@link correlationMiddleware}). */
export function contextOf(req: Request): ArgusRequestContext {
  return req.argus ?? { correlationId: correlationIdFrom(undefined), clientId: 'anonymous' };
}
