import type { ResultsHealth } from '@argus/contracts';
import { Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { DataSource } from 'typeorm';

const PROBE_MS = 1000;

/**
 * Watches Postgres. While it is unreachable the results consumer reads nothing, so messages wait
 * in Redis instead of failing; readiness reports it.
 */
@Injectable()
export class DatabaseWatch implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(DatabaseWatch.name);
  private timer: NodeJS.Timeout | undefined;
  private healthy = true;
  private pending = 0;
  private readonly listeners = new Set<(up: boolean) => void>();

  constructor(private readonly dataSource: DataSource) {}

  onModuleInit(): void {
    this.timer = setInterval(() => void this.probe(), PROBE_MS);
    this.timer.unref();
  }

  /** Whether the last probe reached the database. */
  get up(): boolean {
    return this.healthy;
  }

  /** Calls `listener` whenever the database goes away or comes back; returns the unsubscribe. */
  onChange(listener: (up: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Database reachability and migration state, for readiness. */
  async status(): Promise<ResultsHealth> {
    const pending = await this.dataSource.showMigrations().then(
      (has) => (has ? 1 : 0),
      () => this.pending,
    );
    this.pending = pending;
    return { database: this.healthy, migrations: { applied: this.dataSource.migrations.length - pending, pending } };
  }

  private async probe(): Promise<void> {
    let ok: boolean;
    try {
      await Promise.race([
        this.dataSource.query('SELECT 1'),
        new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), PROBE_MS * 2).unref()),
      ]);
      ok = true;
    } catch {
      ok = false;
    }
    if (ok === this.healthy) return;
    this.healthy = ok;
    if (!ok) this.logger.warn({ msg: 'database unreachable; results wait in Redis until it is back' });
    else this.logger.log({ msg: 'database is back; persisting results again' });
    for (const listener of this.listeners) listener(ok);
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
