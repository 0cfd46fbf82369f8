import { ApiError } from '../errors/api-error';
import { parseListQuery } from './detection-list.service';

function refusal(input: Record<string, unknown>, rename?: Record<string, string>): string {
  try {
    parseListQuery(input, rename);
  } catch (error) {
    if (error instanceof ApiError) return `${error.status} ${error.code}: ${error.message}`;
    throw error;
  }
  throw new Error('accepted');
}

describe(parseListQuery.name, () => {
  it('takes the REST query string: limit as text, cursor, filters, since and until as ISO-8601', () => {
    expect(parseListQuery({ limit: '5', cursor: 'abc', status: 'failed', model: 'yolox-nano', since: '2026-01-02T03:04:05+02:00', until: '2026-02-01' })).toEqual({
      limit: 5,
      cursor: 'abc',
      status: 'failed',
      model: 'yolox-nano',
      since: '2026-01-02T01:04:05.000Z',
      until: '2026-02-01T00:00:00.000Z',
    });
  });

  it('defaults to 20 per page and ignores empty parameters', () => {
    expect(parseListQuery({ status: '', since: undefined })).toEqual({ limit: 20 });
  });

  it.each([
    [{ limit: '0' }, /limit/],
    [{ limit: '101' }, /limit/],
    [{ limit: 'ten' }, /limit/],
    [{ since: 'yesterday' }, /since: an ISO-8601/],
    [{ since: '2026-02-30T00:00:00Z' }, /since: not a real date/],
    [{ status: 'done' }, /status/],
    [{ after: 'x' }, /unknown parameter\(s\) "after"; accepted: status, model, priority, since, until, cursor, limit/],
    [{ limit: ['1', '2'] }, /limit/],
  ])('refuses %j with 400 validation_failed', (input, message) => {
    const answer = refusal(input);
    expect(answer).toMatch(/^400 validation_failed: Invalid detections query/);
    expect(answer).toMatch(message);
  });

  it('names problems by the names GraphQL uses', () => {
    expect(refusal({ limit: 1000 }, { limit: 'first', cursor: 'after' })).toMatch(/first:/);
  });
});
