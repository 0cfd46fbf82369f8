import { CORRELATION_HEADER, correlationIdFrom, withCorrelation } from '@argus/observability';
import type { Priority, ReadScope } from '@argus/contracts';
import type { NextFunction, Request, Response } from 'express';

/** Per-request context the gateway attaches to Express requests. */
export interface ArgusRequestContext {
  correlationId: string;
  /** The authenticated client (an API key's id); 'anonymous' when keys are not in use. */
  clientId: string;
  /** Priorities the client's key may ask for (set by the auth middleware; absent: none checked yet). */
  priorities?: readonly Priority[];
  /** The key carries the admin scope: it may read every client's detections. */
  admin?: boolean;
  /** A secret exists to sign this client's webhooks (else callbackUrl is refused). */
  webhooks?: boolean;
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

/**
 * Whose detections a caller may read: its own, or everyone's for an admin key. Another client's
 * detection is answered like one that never existed (404), so ids leak nothing.
 */
export function readScopeOf(context: Pick<ArgusRequestContext, 'clientId' | 'admin'>): ReadScope {
  return { owner: context.admin ? null : context.clientId };
}

/** Whether a record owned by `clientId` is visible in `scope`. */
export function visibleIn(scope: ReadScope, clientId: string | null | undefined): boolean {
  return scope.owner === null || scope.owner === clientId;
}
