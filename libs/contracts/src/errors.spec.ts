import { decodeFailure, encodeFailure } from './outcome';
import { BULLMQ_PRIORITY, priorityFromBullmq } from './priority';

describe('failure encoding', () => {
  it('round-trips a code and message through a BullMQ failedReason', () => {
    const reason = encodeFailure({ code: 'corrupt_image', message: 'VipsJpeg: premature end' });
    expect(decodeFailure(reason)).toEqual({ code: 'corrupt_image', message: 'VipsJpeg: premature end' });
  });

  it('turns a BullMQ-level reason into internal_error and keeps the text', () => {
    expect(decodeFailure('job stalled more than allowable limit')).toEqual({
      code: 'internal_error',
      message: 'job stalled more than allowable limit',
    });
    expect(decodeFailure('{"code":"made_up","message":"x"}').code).toBe('internal_error');
    expect(decodeFailure(undefined).code).toBe('internal_error');
  });
});

describe('priorities', () => {
  it('serves high before normal before low, all at 1 or more', () => {
    expect(BULLMQ_PRIORITY.high).toBeGreaterThanOrEqual(1);
    expect(BULLMQ_PRIORITY.high).toBeLessThan(BULLMQ_PRIORITY.normal);
    expect(BULLMQ_PRIORITY.normal).toBeLessThan(BULLMQ_PRIORITY.low);
    expect(priorityFromBullmq(BULLMQ_PRIORITY.low)).toBe('low');
  });
});
