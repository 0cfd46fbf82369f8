import { isDatabaseOutage } from './outage';

describe(isDatabaseOutage.name, () => {
  it('recognises a database that went away, and nothing else', () => {
    expect(isDatabaseOutage('connect ECONNREFUSED 127.0.0.1:5432')).toBe(true);
    expect(isDatabaseOutage('Connection terminated unexpectedly')).toBe(true);
    expect(isDatabaseOutage('terminating connection due to administrator command')).toBe(true);
    expect(isDatabaseOutage('invalid_message: bad payload')).toBe(false);
    expect(isDatabaseOutage(undefined)).toBe(false);
  });
});
