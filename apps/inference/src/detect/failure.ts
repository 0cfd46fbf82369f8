import { type ErrorCode, type ErrorInfo, ErrorCodeSchema } from '@argus/contracts';

/**
 * Failures that will not change on a retry: the image or the request is at fault. These fail the
 * job at once (BullMQ UnrecoverableError) and are remembered for identical requests.
 */
const DETERMINISTIC = new Set<ErrorCode>([
  'validation_failed',
  'empty_image',
  'not_an_image',
  'unsupported_image_type',
  'truncated_image',
  'corrupt_image',
  'image_too_large',
  'payload_too_large',
  'unknown_model',
  'model_unavailable',
  'unknown_class',
  'image_expired',
  'deadline_exceeded',
]);

/** An error with a stable code raised by the detection use case itself. */
export class JobFailure extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'JobFailure';
  }
}

export interface Classified {
  info: ErrorInfo;
  /** Worth another attempt (a transient cause: Redis, the runtime, a bug that may not recur). */
  retryable: boolean;
}

/** Decides what a failure means: its code, and whether another attempt may succeed. */
export function classifyFailure(error: unknown): Classified {
  const code = codeOf(error);
  const message = error instanceof Error ? error.message : String(error);
  if (code) return { info: { code, message }, retryable: !DETERMINISTIC.has(code) };
  return { info: { code: 'internal_error', message }, retryable: true };
}

function codeOf(error: unknown): ErrorCode | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const parsed = ErrorCodeSchema.safeParse((error as { code: unknown }).code);
    if (parsed.success) return parsed.data;
  }
  return undefined;
}
