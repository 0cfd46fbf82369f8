import { databaseOutage, isDatabaseOutage } from './outage';

/** An error as node-postgres makes it for a server error: a message and the SQLSTATE in `code`. */
const pgError = (code: string, message = 'whatever the server said') => Object.assign(new Error(message), { code, severity: 'ERROR' });
/** TypeORM wraps it: QueryFailedError, with the driver's error inside. */
const typeormError = (code: string) => Object.assign(new Error('QueryFailedError: whatever the server said'), { driverError: pgError(code) });

describe(databaseOutage.name, () => {
  it('calls every "not now" SQLSTATE an outage, by code, whatever the message says', () => {
    const codes = { '25006': /read-only/, '53300': /too many clients/, '55P03': /lock timeout/, '57014': /statement timeout/, '40001': /serialization/, '40P01': /deadlock/, '57P01': /administrator/, '57P02': /crash/, '57P03': /cannot accept connections/ };
    for (const [code, reason] of Object.entries(codes)) {
      expect([code, databaseOutage(pgError(code))]).toEqual([code, expect.stringMatching(reason)]);
      expect([code, isDatabaseOutage(typeormError(code))]).toEqual([code, true]);
    }
  });

  it('calls whole classes outages: connection exceptions, insufficient resources (disk full), system errors', () => {
    for (const code of ['08006', '08001', '53100', '53200', '58030']) expect([code, isDatabaseOutage(pgError(code))]).toEqual([code, true]);
  });

  it('calls socket errors and node-postgres client-side failures outages', () => {
    expect(isDatabaseOutage(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(isDatabaseOutage({ cause: { code: 'ECONNRESET' } })).toBe(true);
    for (const message of ['Connection terminated unexpectedly', 'Query read timeout', 'timeout exceeded when trying to connect', 'Connection terminated due to connection timeout']) {
      expect([message, isDatabaseOutage(new Error(message))]).toEqual([message, true]);
    }
    expect(isDatabaseOutage('terminating connection due to administrator command')).toBe(true);
  });

  it('leaves errors about the data itself to the caller: they are retried a few times, then set aside', () => {
    for (const code of ['22P02', '23505', '23502', '42P01', '42703', '22001']) expect([code, isDatabaseOutage(pgError(code))]).toEqual([code, false]);
    expect(isDatabaseOutage(new Error('invalid input syntax for type uuid: "not-a-uuid"'))).toBe(false);
    expect(isDatabaseOutage(undefined)).toBe(false);
    expect(isDatabaseOutage(null)).toBe(false);
    expect(isDatabaseOutage('invalid_message: bad payload')).toBe(false);
  });

  it('does not take a code that is no SQLSTATE for one', () => {
    expect(isDatabaseOutage(pgError('ENOENT'))).toBe(false);
    expect(isDatabaseOutage(pgError('08'))).toBe(false);
  });
});
