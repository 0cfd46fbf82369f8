import type { ErrorBody, ErrorCode, ErrorInfo } from '@argus/contracts';

/** The HTTP status of each error code. 4xx: the client can fix it; 5xx: we must. */
export const ERROR_STATUS: Readonly<Record<ErrorCode, number>> = Object.freeze({
  validation_failed: 400,
  missing_image: 400,
  empty_image: 400,
  unknown_model: 422,
  unknown_class: 422,
  not_found: 404,
  idempotency_key_reused: 409,
  not_ready: 409,
  unauthorized: 401,
  forbidden: 403,
  rate_limited: 429,
  payload_too_large: 413,
  url_not_allowed: 403,
  url_fetch_failed: 422,
  not_an_image: 415,
  unsupported_image_type: 415,
  truncated_image: 422,
  corrupt_image: 422,
  image_too_large: 422,
  image_expired: 410,
  deadline_exceeded: 504,
  invalid_model: 500,
  no_models: 503,
  model_unavailable: 503,
  overloaded: 503,
  unavailable: 503,
  inference_failed: 500,
  internal_error: 500,
});

/** An error the API answers with `{ error: { code, message } }` and the code's status. */
export class ApiError extends Error {
  readonly status: number;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly headers: Record<string, string> = {},
    status?: number,
  ) {
    super(message);
    this.name = 'ApiError';
    this.status = status ?? ERROR_STATUS[code];
  }

  /** The response body. */
  body(): ErrorBody {
    return { error: this.info() };
  }

  info(): ErrorInfo {
    return { code: this.code, message: this.message };
  }
}

/**
 * The answer for something found neither in Postgres nor in Redis: 404 not_found, or 503
 * unavailable when apps/results could not be asked (it may well exist there).
 */
export function notFoundUnless(resultsDown: unknown, message: string): ApiError {
  if (resultsDown) return new ApiError('unavailable', 'Results are unavailable right now; retry shortly', { 'Retry-After': '2' });
  return new ApiError('not_found', message);
}
