import type { ApiErrorCode } from './types';

/**
 * Codes the client itself gives when no usable answer came:
 * - `network_error`: the request failed before an answer (DNS, refused, reset);
 * - `client_timeout`: an attempt took longer than `timeoutMs`, or `waitFor` ran out of time;
 * - `aborted`: the caller's AbortSignal fired;
 * - `bad_response`: an answer that is not what the API sends (a proxy's HTML page, broken JSON).
 */
export type ClientErrorCode = 'network_error' | 'client_timeout' | 'aborted' | 'bad_response';

/** Why {@link verifyWebhook} refused a delivery. */
export type WebhookErrorCode =
  | 'webhook_missing_header'
  | 'webhook_invalid_timestamp'
  | 'webhook_stale_timestamp'
  | 'webhook_invalid_signature'
  | 'webhook_invalid_body';

/** Every code an {@link ArgusError} may carry; the server may add codes, hence the open end. */
export type ArgusErrorCode = ApiErrorCode | ClientErrorCode | WebhookErrorCode | (string & {});

/** What an {@link ArgusError} is made of. */
export interface ArgusErrorInit {
  code: ArgusErrorCode;
  message: string;
  /** HTTP status; 0 when no answer came. */
  status?: number;
  correlationId?: string | null;
  retryAfterSeconds?: number;
  cause?: unknown;
}

/**
 * Every failure of the client: an error answer of the API (`{ "error": { "code", "message" } }`),
 * or one of the client's own ({@link ClientErrorCode}). Switch on `code`; messages are for people.
 */
export class ArgusError extends Error {
  /** The API's stable code, or the client's own. */
  readonly code: ArgusErrorCode;
  /** HTTP status; 0 when no answer came. */
  readonly status: number;
  /** The answer's `X-Correlation-Id` (quote it when asking for help); null when no answer came. */
  readonly correlationId: string | null;
  /** Seconds the API asked to wait before trying again (`Retry-After`), when it said. */
  readonly retryAfterSeconds: number | undefined;

  constructor(init: ArgusErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = 'ArgusError';
    this.code = init.code;
    this.status = init.status ?? 0;
    this.correlationId = init.correlationId ?? null;
    this.retryAfterSeconds = init.retryAfterSeconds;
  }
}

/** The earlier name of {@link ArgusError}. @deprecated Use ArgusError. */
export const ArgusApiError = ArgusError;
/** The earlier name of {@link ArgusError}. @deprecated Use ArgusError. */
export type ArgusApiError = ArgusError;

/** A webhook delivery that failed verification: answer it with 400 and do not act on it. */
export class WebhookVerificationError extends ArgusError {
  declare readonly code: WebhookErrorCode;

  constructor(code: WebhookErrorCode, message: string) {
    super({ code, message });
    this.name = 'WebhookVerificationError';
  }
}
