import { ImageError } from '@argus/imaging';
import { HttpException, NotFoundException } from '@nestjs/common';
import { ApiError, ERROR_STATUS } from './api-error';
import { BatchErrorFilter, toApiError } from './error.filter';

describe(toApiError.name, () => {
  it('keeps our own errors', () => {
    const error = new ApiError('unknown_model', 'no such model');
    expect(toApiError(error)).toBe(error);
  });

  it('maps image check failures to their codes and statuses', () => {
    const mapped = toApiError(new ImageError('image_too_large', 'too many pixels'));
    expect([mapped.status, mapped.code]).toEqual([422, 'image_too_large']);
  });

  it('maps body-parser and multer limits to 413, and malformed input to 400', () => {
    expect(toApiError({ type: 'entity.too.large' }).status).toBe(413);
    expect(toApiError({ code: 'LIMIT_FILE_SIZE' }).status).toBe(413);
    expect(toApiError({ code: 'LIMIT_UNEXPECTED_FILE', field: 'photo' }).message).toMatch(/field "image"/);
    expect(toApiError({ type: 'entity.parse.failed' }).code).toBe('validation_failed');
    expect(toApiError(new Error('Multipart: Boundary not found')).status).toBe(400);
  });

  it('maps Nest HTTP exceptions to our codes', () => {
    expect(toApiError(new NotFoundException('Cannot GET /nope')).code).toBe('not_found');
    expect(toApiError(new HttpException('bad', 400)).status).toBe(400);
    // Too many files for a detection is a wrong request; for a batch, a batch too large.
    expect(toApiError(new HttpException('Too many files', 400))).toMatchObject({ status: 400, code: 'validation_failed' });
    expect((new BatchErrorFilter() as unknown as { toApiError(e: unknown): ApiError }).toApiError(new HttpException('Too many files', 400))).toMatchObject({ status: 413, code: 'payload_too_large' });
  });

  it('answers a full Redis (OOM under noeviction) with 503 overloaded and Retry-After, never a 500', () => {
    const oom = new Error("OOM command not allowed when used memory > 'maxmemory'. script: 5c1d..., on @user_script:12.");
    expect(toApiError(oom)).toMatchObject({ code: 'overloaded', status: 503, headers: { 'Retry-After': '5' } });
  });

  it('hides unknown errors behind a 500 without their details', () => {
    const mapped = toApiError(new Error('password=hunter2 in a stack'));
    expect([mapped.status, mapped.code]).toEqual([500, 'internal_error']);
    expect(mapped.message).not.toMatch(/hunter2/);
  });

  it('gives every client-caused code a 4xx', () => {
    for (const code of ['validation_failed', 'missing_image', 'empty_image', 'not_an_image', 'unsupported_image_type', 'truncated_image', 'corrupt_image', 'image_too_large', 'payload_too_large', 'unknown_model', 'unknown_class'] as const) {
      expect(ERROR_STATUS[code]).toBeGreaterThanOrEqual(400);
      expect(ERROR_STATUS[code]).toBeLessThan(500);
    }
  });
});
