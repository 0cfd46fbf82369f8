import { classifyFailure, JobFailure } from './failure';

describe(classifyFailure.name, () => {
  it('fails an undecodable image for good, with its code', () => {
    const error = Object.assign(new Error('pngload_buffer: libspng read error'), { code: 'corrupt_image' });
    expect(classifyFailure(error)).toEqual({ info: { code: 'corrupt_image', message: 'pngload_buffer: libspng read error' }, retryable: false });
  });

  it('fails an expired image and a missed deadline for good', () => {
    expect(classifyFailure(new JobFailure('image_expired', 'gone')).retryable).toBe(false);
    expect(classifyFailure(new JobFailure('deadline_exceeded', 'late')).retryable).toBe(false);
  });

  it('retries a runtime failure and anything unknown (a Redis hiccup, a bug that may not recur)', () => {
    expect(classifyFailure(Object.assign(new Error('CUDA OOM'), { code: 'inference_failed' }))).toEqual({
      info: { code: 'inference_failed', message: 'CUDA OOM' },
      retryable: true,
    });
    expect(classifyFailure(new Error('Connection is closed.'))).toEqual({ info: { code: 'internal_error', message: 'Connection is closed.' }, retryable: true });
  });

  it('does not trust a code that is not ours (a Node error code)', () => {
    const error = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    expect(classifyFailure(error)).toEqual({ info: { code: 'internal_error', message: 'connect ECONNREFUSED' }, retryable: true });
  });
});
