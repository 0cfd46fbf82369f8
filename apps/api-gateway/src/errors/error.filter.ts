import { isImageError } from '@argus/imaging';
import { ERROR_CODE_LOCAL } from '@argus/observability';
import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { ApiError } from './api-error';

/**
 * Every error leaves the gateway as `{ error: { code, message } }`. Known causes (our ApiError,
 * image checks, body and multipart parsing, Nest's HTTP exceptions) keep their 4xx; anything
 * else is a 500 whose details stay in the log.
 */
@Catch()
export class ErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  /** The API error for what was thrown (routes with errors of their own refine it). */
  protected toApiError(exception: unknown): ApiError {
    return toApiError(exception);
  }

  catch(exception: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') throw exception; // GraphQL and others format their own errors
    const res = host.switchToHttp().getResponse<Response>();
    const req = host.switchToHttp().getRequest<Request>();
    const error = this.toApiError(exception);
    if (error.status >= 500) {
      this.logger.error({ msg: 'request failed', method: req.method, path: req.path, error: exception instanceof Error ? (exception.stack ?? exception.message) : String(exception) });
    }
    if (res.headersSent) return;
    for (const [name, value] of Object.entries(error.headers)) res.setHeader(name, value);
    res.locals[ERROR_CODE_LOCAL] = error.code;
    res.status(error.status).json(error.body());
  }
}

/** Maps anything thrown while handling a request to an ApiError. */
export function toApiError(exception: unknown): ApiError {
  if (exception instanceof ApiError) return exception;
  if (isImageError(exception)) return new ApiError(exception.code, exception.message);
  const e = exception as { type?: string; code?: string; status?: number; message?: string; field?: string };
  // body-parser (raw image bodies, JSON)
  if (e.type === 'entity.too.large') return new ApiError('payload_too_large', 'The request body is larger than the limit (MAX_IMAGE_BYTES)');
  if (e.type === 'entity.parse.failed') return new ApiError('validation_failed', 'The request body is not valid JSON');
  if (e.type === 'request.aborted') return new ApiError('validation_failed', 'The request was aborted before its body arrived', {}, 400);
  // multer (multipart uploads)
  if (typeof e.code === 'string' && e.code.startsWith('LIMIT_')) {
    if (e.code === 'LIMIT_FILE_SIZE') return new ApiError('payload_too_large', 'The image is larger than the limit (MAX_IMAGE_BYTES)');
    if (e.code === 'LIMIT_UNEXPECTED_FILE') return new ApiError('validation_failed', `Unexpected file field "${e.field ?? ''}": send a detection's image in the field "image", a batch's in fields "images"`);
    return new ApiError('validation_failed', `The multipart form exceeds a limit (${e.code})`);
  }
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    const response = exception.getResponse() as { message?: unknown } | string;
    const message = typeof response === 'string' ? response : Array.isArray(response.message) ? response.message.join('; ') : String(response.message ?? exception.message);
    if (status === 404) return new ApiError('not_found', message);
    if (status === 413) return new ApiError('payload_too_large', message);
    if (status === 401) return new ApiError('unauthorized', message);
    if (status === 403) return new ApiError('forbidden', message);
    if (status === 429) return new ApiError('rate_limited', message);
    if (status < 500) return new ApiError('validation_failed', multipartHint(message), {}, status);
    return new ApiError('internal_error', message, {}, status);
  }
  if (isRedisFull(exception)) {
    // noeviction: Redis refuses writes rather than drop accepted work. The memory watermark
    // (MAX_REDIS_MEMORY_PERCENT) normally refuses first; this is the answer when it did not.
    return new ApiError('overloaded', "Not accepting new work: the queue's memory is full; retry shortly", { 'Retry-After': '5' });
  }
  if (isRedisUnavailable(exception)) {
    return new ApiError('unavailable', 'The queue (Redis) is unavailable; retry shortly', { 'Retry-After': '2' });
  }
  if (exception instanceof Error && /Multipart|Unexpected end of form|boundary/i.test(exception.message)) {
    return new ApiError('validation_failed', `Malformed multipart body: ${exception.message}`);
  }
  return new ApiError('internal_error', 'Internal error; see the gateway log');
}

/**
 * ioredis errors meaning Redis cannot be reached right now (the gateway's connection fails fast):
 * a 503 the client retries, not a 500.
 */
export function isRedisUnavailable(exception: unknown): boolean {
  if (!(exception instanceof Error)) return false;
  if (exception.name === 'MaxRetriesPerRequestError') return true;
  return /Connection is closed|Stream isn't writeable|ECONNREFUSED|ECONNRESET|ETIMEDOUT|LOADING Redis is loading|READONLY You can't write/i.test(exception.message);
}

/** Redis at its maxmemory with `noeviction`: every write is refused until room returns. */
export function isRedisFull(exception: unknown): boolean {
  return exception instanceof Error && /\bOOM command not allowed\b/.test(exception.message);
}

function multipartHint(message: string): string {
  return /multipart|boundary|form/i.test(message) ? `Malformed multipart body: ${message}` : message;
}

/**
 * A batch's errors: multer's count limits (more files or fields than BATCH_MAX_IMAGES allows),
 * which Nest's interceptor turns into a 400 with multer's text, are a batch too large (413).
 */
@Catch()
export class BatchErrorFilter extends ErrorFilter {
  protected override toApiError(exception: unknown): ApiError {
    const message = exception instanceof HttpException ? exception.message : '';
    if (exception instanceof HttpException && exception.getStatus() === 400 && /^Too many (files|fields|parts)$/.test(message)) {
      return new ApiError('payload_too_large', `${message}: a batch takes at most BATCH_MAX_IMAGES images`);
    }
    return toApiError(exception);
  }
}
