import { ARGUS_CONFIG, type ArgusConfig } from '@argus/config';
import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';

/** Rows one slice deletes at most: short statements, so inserts never wait long behind one. */
export const RETENTION_SLICE_ROWS = 2000;
/** Pause between two slices of a large backlog (the next slice is a delayed job). */
export const RETENTION_PAUSE_MS = 200;

/** What one slice did. */
export interface RetentionSlice {
  detections: number;
  batches: number;
  /** A slice was full: there may be more to delete. */
  more: boolean;
  cutoff: string | null;
}

/**
 * Deletes detections and batches older than RESULTS_RETENTION_DAYS, a slice at a time. Each slice
 * is one short DELETE of the oldest rows (the (created_at, id) index finds them without a scan),
 * so the INSERTs of the persistence batches never queue behind a long statement; the maintenance
 * processor runs the next slice after a pause, as a delayed job, and the reconciler's passes go
 * between them.
 */
@Injectable()
export class RetentionService {
  private readonly days: number;

  constructor(
    private readonly dataSource: DataSource,
    @Inject(ARGUS_CONFIG) config: Pick<ArgusConfig, 'resultsRetentionDays'>,
  ) {
    this.days = config.resultsRetentionDays;
  }

  /** Whether anything is ever deleted (RESULTS_RETENTION_DAYS > 0). */
  get enabled(): boolean {
    return this.days > 0;
  }

  /** Deletes one slice of what is older than the retention period (at `now`). */
  async slice(now = new Date(), rows = RETENTION_SLICE_ROWS): Promise<RetentionSlice> {
    if (!this.enabled) return { detections: 0, batches: 0, more: false, cutoff: null };
    const cutoff = new Date(now.getTime() - this.days * 86_400_000);
    const detections = await this.deleteOlder('detections', cutoff, rows);
    const batches = await this.deleteOlder('batches', cutoff, rows);
    return { detections, batches, more: detections >= rows || batches >= rows, cutoff: cutoff.toISOString() };
  }

  private async deleteOlder(table: 'detections' | 'batches', cutoff: Date, rows: number): Promise<number> {
    const name = `${this.schema()}."${table}"`;
    const [, affected] = (await this.dataSource.query(
      `DELETE FROM ${name} WHERE "id" IN (SELECT "id" FROM ${name} WHERE "created_at" < $1 ORDER BY "created_at" LIMIT $2)`,
      [cutoff, rows],
    )) as [unknown, number];
    return affected;
  }

  private schema(): string {
    return `"${(this.dataSource.options as { schema?: string }).schema ?? 'public'}"`;
  }
}
