/**
 * SQLSTATEs that say Postgres cannot take the work now, not that the work is wrong: read-only (a
 * replica after failover, or a database set read-only), too many clients, a lock or statement
 * timeout, a serialization failure or deadlock (retry the transaction), starting up, shutting
 * down, cancelled by an administrator.
 */
const OUTAGE_SQLSTATES: Readonly<Record<string, string>> = {
  '25006': 'the database is read-only',
  '53300': 'too many clients',
  '55P03': 'a lock timeout',
  '57014': 'a statement timeout',
  '40001': 'a serialization failure',
  '40P01': 'a deadlock',
  '57P01': 'an administrator shut it down',
  '57P02': 'a crash shutdown',
  '57P03': 'it cannot accept connections now',
};

/** SQLSTATE classes that are outages as a whole: 08 connection exception, 53 insufficient resources (disk, memory), 58 system error (I/O). */
const OUTAGE_CLASSES: Readonly<Record<string, string>> = {
  '08': 'a connection exception',
  '53': 'insufficient resources',
  '58': 'a system error',
};

/** Socket errors on the way to Postgres. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN']);

/** What node-postgres and TypeORM say when the connection, not the statement, failed (they give no code). */
const CONNECTION_MESSAGES =
  /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|Connection terminated|connection timeout|timeout exceeded when trying to connect|Query read timeout|Client has encountered a connection error|Client was closed and is not queryable|the database system is (starting up|shutting down|in recovery mode)|terminating connection due to administrator command|read-only transaction|too many clients/i;

/**
 * Pure: why an error means Postgres is unavailable for now, or null when it says the work itself
 * failed. Classified by SQLSTATE (the `code` of a pg error, also inside TypeORM's
 * QueryFailedError as `driverError`, or as a `cause`), by socket error code, and only then by
 * message (node-postgres's own client-side errors carry no code). An outage spends nothing: the
 * caller waits and retries the same work, counting no attempt and setting nothing aside.
 */
export function databaseOutage(error: unknown): string | null {
  for (const candidate of [error, field(error, 'driverError'), field(error, 'cause')]) {
    const code = field(candidate, 'code');
    if (typeof code !== 'string') continue;
    if (OUTAGE_SQLSTATES[code]) return `${OUTAGE_SQLSTATES[code]} (SQLSTATE ${code})`;
    if (/^[0-9A-Z]{5}$/.test(code) && OUTAGE_CLASSES[code.slice(0, 2)]) return `${OUTAGE_CLASSES[code.slice(0, 2)]} (SQLSTATE ${code})`;
    if (NETWORK_CODES.has(code)) return `the connection failed (${code})`;
  }
  const message = typeof error === 'string' ? error : field(error, 'message');
  if (typeof message === 'string' && CONNECTION_MESSAGES.test(message)) return `the connection failed (${message})`;
  return null;
}

/** Pure: whether an error (or a failure's reason text) means Postgres is unavailable for now; see {@link databaseOutage}. */
export function isDatabaseOutage(error: unknown): boolean {
  return databaseOutage(error) !== null;
}

function field(value: unknown, name: string): unknown {
  return value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[name] : undefined;
}
