import { z } from 'zod';

/**
 * Stable error codes. Clients switch on these; messages are for people and may change.
 * The gateway maps each to an HTTP status (apps/api-gateway/src/errors).
 */
export const ERROR_CODES = [
  // the request itself
  'validation_failed',
  'missing_image',
  'unknown_model',
  'unknown_class',
  'not_found',
  'idempotency_key_reused',
  'not_ready',
  'unauthorized',
  'forbidden',
  'rate_limited',
  'payload_too_large',
  /** An image or callback URL names an address Argus will not reach (loopback, private, link-local, metadata). */
  'url_not_allowed',
  /** Fetching an image URL failed: DNS, timeout, an HTTP error status, too large, too many redirects. */
  'url_fetch_failed',
  // the image
  'empty_image',
  'not_an_image',
  'unsupported_image_type',
  'truncated_image',
  'corrupt_image',
  'image_too_large',
  'image_expired',
  // the service
  'invalid_model',
  'no_models',
  'model_unavailable',
  'overloaded',
  'unavailable',
  'deadline_exceeded',
  'inference_failed',
  'internal_error',
] as const;
export const ErrorCodeSchema = z.enum(ERROR_CODES);
export type ErrorCode = z.infer<typeof ErrorCodeSchema>;

export const ErrorInfoSchema = z.object({ code: ErrorCodeSchema, message: z.string() });
export type ErrorInfo = z.infer<typeof ErrorInfoSchema>;

/** The JSON body of every error response: `{ "error": { "code", "message" } }`. */
export interface ErrorBody {
  error: ErrorInfo;
}
