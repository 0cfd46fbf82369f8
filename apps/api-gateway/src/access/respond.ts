import { ERROR_CODE_LOCAL } from '@argus/observability';
import type { Response } from 'express';
import type { ApiError } from '../errors/api-error';

/** Sends an ApiError from Express middleware (outside Nest's exception filters), as the ErrorFilter would. */
export function sendApiError(res: Response, error: ApiError): void {
  if (res.headersSent) return;
  for (const [name, value] of Object.entries(error.headers)) res.setHeader(name, value);
  res.locals[ERROR_CODE_LOCAL] = error.code;
  res.status(error.status).json(error.body());
}
