import type { ErrorCode } from '@argus/contracts';

/** An error answer of the Argus API (`{ "error": { "code", "message" } }`), or a transport failure. */
export class ArgusApiError extends Error {
  constructor(
    /** HTTP status; 0 when no answer came. */
    readonly status: number,
    /** The API's stable code (switch on this), or `network_error` / `bad_response`. */
    readonly code: ErrorCode | 'network_error' | 'bad_response',
    message: string,
    /** Seconds to wait before retrying, when the API said (Retry-After). */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'ArgusApiError';
  }
}
