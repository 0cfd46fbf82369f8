import type { ResultsHealth } from '@argus/contracts';
import { Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { onOwnConnection } from './database';
import { databaseOutage } from './outage';

const PROBE_MS = 1000;

/** What a probe that finds the session read-only throws: the SQLSTATE Postgres itself would give an INSERT. */
class ReadOnlyDatabase extends Error {
  readonly code = '25006';
  constructor() {
    super('the database is read-only (transaction_read_only is on)');
  }
}

/**
 * Watches Postgres: reachable, and writable (a replica after a failover, or a database set
 * read-only, answers SELECT 1 but refuses every INSERT). While it is not, the persist worker takes
 * no job (they wait in Redis instead of failing; listeners hear of each change) and readiness
 * reports it. A write that failed as an outage ({@link report}) counts at once, until the next probe.
 */
@Injectable()
export class DatabaseWatch implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(DatabaseWatch.name);
  private timer: NodeJS.Timeout | undefined;
  private healthy = true;
  private why = 'reachable and writable';
  private probing = false;
  private pending = 0;
  private readonly listeners = new Set<(up: boolean) => void>();

  constructor(private readonly dataSource: DataSource) {}

  onModuleInit(): void {
    this.timer = setInterval(() => void this.probe(), PROBE_MS);
    this.timer.unref();
  }

  /** Whether the last probe could write to the database (and nothing has failed as an outage since). */
  get up(): boolean {
    return this.healthy;
  }

  /** Why the database is (not) usable, for readiness. */
  get detail(): string {
    return this.why;
  }

  /** Calls `listener` whenever the database goes away or comes back; returns the unsubscribe. */
  onChange(listener: (up: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Database reachability and migration state, for readiness. */
  async status(): Promise<ResultsHealth> {
    // While Postgres is away the last count stands: no query is left hanging per probe.
    if (this.healthy) {
      this.pending = await this.dataSource.showMigrations().then(
        (has) => (has ? 1 : 0),
        () => this.pending,
      );
    }
    return { database: this.healthy, migrations: { applied: this.dataSource.migrations.length - this.pending, pending: this.pending } };
  }

  /** A query failed as in an outage: stop using the database now; the next probe says when it is back. */
  report(error: unknown): void {
    const outage = databaseOutage(error);
    if (outage) this.set(false, outage);
  }

  private async probe(): Promise<void> {
    // One at a time: against a stopped server a probe lasts until the client gives up.
    if (this.probing) return;
    this.probing = true;
    const check = onOwnConnection(this.dataSource, async (runner) => {
      const [row] = (await runner.query('SHOW transaction_read_only')) as { transaction_read_only?: string }[];
      if (row?.transaction_read_only === 'on') throw new ReadOnlyDatabase();
    }).finally(() => {
      this.probing = false;
    });
    let timer: NodeJS.Timeout | undefined;
    try {
      // Readiness does not wait for the client to give up: no answer within two periods is an answer.
      await Promise.race([
        check,
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${PROBE_MS * 2} ms`)), PROBE_MS * 2);
        }),
      ]);
      this.set(true, 'reachable and writable');
    } catch (error) {
      this.set(false, databaseOutage(error) ?? (error instanceof Error ? error.message : String(error)));
    } finally {
      clearTimeout(timer);
    }
  }

  private set(healthy: boolean, why: string): void {
    const changed = healthy !== this.healthy;
    this.healthy = healthy;
    this.why = why;
    if (!changed) return;
    if (!healthy) this.logger.warn({ msg: 'database not usable; results wait in Redis until it is back', reason: why });
    else this.logger.log({ msg: 'database is back; persisting results again' });
    for (const listener of this.listeners) listener(healthy);
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
