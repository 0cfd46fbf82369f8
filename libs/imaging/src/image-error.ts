import type { ErrorCode, ErrorInfo } from '@argus/contracts';

/** Image error codes: each is a client mistake the gateway answers with a 4xx. */
export type ImageErrorCode = Extract<
  ErrorCode,
  | 'empty_image'
  | 'payload_too_large'
  | 'not_an_image'
  | 'unsupported_image_type'
  | 'truncated_image'
  | 'corrupt_image'
  | 'image_too_large'
>;

/** A bad image: a stable code for clients and a message telling the user what to do. */
export class ImageError extends Error {
  override readonly name = 'ImageError';

  constructor(
    readonly code: ImageErrorCode,
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

/** True for an {@link ImageError} (also across copies of this module). */
export function isImageError(e: unknown): e is ImageError {
  return e instanceof ImageError || (e instanceof Error && e.name === 'ImageError' && 'code' in e);
}
