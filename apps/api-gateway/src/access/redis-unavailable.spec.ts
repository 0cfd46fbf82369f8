import { isRedisUnavailable, toApiError } from '../errors/error.filter';

describe(isRedisUnavailable.name, () => {
  it('turns Redis connection failures into 503 unavailable with Retry-After, not 500', () => {
    const maxRetries = Object.assign(new Error('Reached the max retries per request limit (which is 1).'), { name: 'MaxRetriesPerRequestError' });
    for (const error of [maxRetries, new Error('Connection is closed.'), new Error("Stream isn't writeable and enableOfflineQueue options is false"), new Error('connect ECONNREFUSED 127.0.0.1:6379')]) {
      expect(isRedisUnavailable(error)).toBe(true);
      expect(toApiError(error)).toMatchObject({ code: 'unavailable', status: 503, headers: { 'Retry-After': '2' } });
    }
    expect(isRedisUnavailable(new Error('something else'))).toBe(false);
    expect(isRedisUnavailable('Connection is closed.')).toBe(false);
  });
});
