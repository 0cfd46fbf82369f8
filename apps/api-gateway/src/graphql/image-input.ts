import { json, type RequestHandler } from 'express';
import { ApiError } from '../errors/api-error';
import { toApiError } from '../errors/error.filter';
import { sendGraphqlError } from './graphql-errors';
import type { UploadedFile } from './upload.scalar';

/** Slack for the query text and other variables around a base64 image in a JSON body. */
const JSON_OVERHEAD_BYTES = 64 * 1024;

/** Longest base64 text of an image of at most `maxImageBytes` bytes. */
export function base64Length(maxImageBytes: number): number {
  return Math.ceil(maxImageBytes / 3) * 4;
}

/** The JSON body limit of /graphql: room for a base64 image of MAX_IMAGE_BYTES (4/3 of it) and the query. */
export function graphqlJsonLimit(maxImageBytes: number): number {
  return base64Length(maxImageBytes) + JSON_OVERHEAD_BYTES;
}

const BASE64 = /^[A-Za-z0-9+/\-_]*={0,2}$/;

/**
 * Pure: the bytes of a base64 image (standard or URL-safe alphabet, with or without padding, a
 * `data:...;base64,` prefix and line breaks allowed). Throws an ApiError naming the problem.
 */
export function decodeBase64Image(value: string, maxImageBytes: number): Buffer {
  let text = value.trim();
  const dataUrl = /^data:[^,]{0,200};base64,/i.exec(text);
  if (dataUrl) text = text.slice(dataUrl[0].length);
  text = text.replace(/\s+/g, '');
  if (text.length === 0) throw new ApiError('empty_image', 'imageBase64 is empty');
  if (text.length > base64Length(maxImageBytes) + 2) {
    throw new ApiError('payload_too_large', `imageBase64 decodes to more than MAX_IMAGE_BYTES (${maxImageBytes} bytes)`);
  }
  if (!BASE64.test(text)) throw new ApiError('validation_failed', 'imageBase64 is not base64 text');
  return Buffer.from(text, 'base64');
}

/** The image of a submission: exactly one of an upload and a base64 text. */
export function submittedImage(upload: UploadedFile | null | undefined, base64: string | null | undefined, maxImageBytes: number): Buffer {
  if (upload && base64 !== null && base64 !== undefined) {
    throw new ApiError('validation_failed', 'Send the image once: either `image` (an upload) or `imageBase64`, not both');
  }
  if (upload) return upload.buffer;
  if (base64 !== null && base64 !== undefined) return decodeBase64Image(base64, maxImageBytes);
  throw new ApiError('missing_image', 'No image: pass `image` (an Upload, GraphQL multipart request) or `imageBase64` (base64 text)');
}

/**
 * The JSON body parser of /graphql: room for a base64 image ({@link graphqlJsonLimit}), and its
 * errors (too large, not JSON) answered in GraphQL's shape with the REST code.
 */
export function graphqlJsonBody(maxImageBytes: number): RequestHandler {
  const parse = json({ limit: graphqlJsonLimit(maxImageBytes) });
  return (req, res, next) => {
    parse(req, res, (error?: unknown) => {
      if (!error) return next();
      const tooLarge = (error as { type?: string }).type === 'entity.too.large';
      sendGraphqlError(res, tooLarge ? new ApiError('payload_too_large', `The request body is larger than the limit (room for a base64 image of MAX_IMAGE_BYTES, ${maxImageBytes} bytes)`) : toApiError(error));
    });
  };
}
