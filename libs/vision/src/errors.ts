import type { ErrorCode, ErrorInfo } from '@argus/contracts';

/** Model error codes: a name nobody serves, a file we cannot run, or a run that failed. */
export type ModelErrorCode = Extract<ErrorCode, 'unknown_model' | 'invalid_model' | 'inference_failed' | 'no_models'>;

/** A model problem with a stable code and a message an operator or client can act on. */
export class ModelError extends Error {
  override readonly name = 'ModelError';

  constructor(
    readonly code: ModelErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** The error as it travels in responses and failed jobs. */
  toInfo(): ErrorInfo {
    return { code: this.code, message: this.message };
  }
}

/** True for a {@link ModelError} (also across copies of this module). */
export function isModelError(e: unknown): e is ModelError {
  return e instanceof ModelError || (e instanceof Error && e.name === 'ModelError' && 'code' in e);
}

/** The message of anything thrown, for wrapping it in a typed error (an Error from another realm too). */
export function messageOf(e: unknown): string {
  if (e instanceof Error) return e.message;
  if (typeof e === 'object' && e !== null && 'message' in e && typeof e.message === 'string') return e.message;
  return String(e);
}
