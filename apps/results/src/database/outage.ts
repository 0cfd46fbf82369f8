/** Whether a failure reason says the database could not be reached (worth retrying later). */
export function isDatabaseOutage(reason: string | undefined): boolean {
  if (!reason) return false;
  return /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|Connection terminated|connection timeout|timeout exceeded when trying to connect|the database system is (starting up|shutting down)|terminating connection due to administrator command|Client has encountered a connection error/i.test(
    reason,
  );
}
