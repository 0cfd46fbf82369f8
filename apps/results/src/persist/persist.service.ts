import { ArgusStore, BatchJobs, Batcher, WebhookJobs } from '@argus/broker';
import { endedView, isCancel, type PersistJob, persistRequests, type RequestEnd, type RequestRecord, webhookId } from '@argus/contracts';
import { Metrics, withCorrelation } from '@argus/observability';
import { Injectable, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { onOwnConnection } from '../database/database';
import { DetectionEntity } from '../database/detection.entity';
import { isDatabaseOutage } from '../database/outage';
import { type DetectionRow, toRow } from './rows';

/** Rows per INSERT: far below Postgres's 65535 parameters at ~25 columns a row. */
const ROWS_PER_INSERT = 500;
/** Persist jobs written by one batch at most. */
const JOBS_PER_BATCH = 500;

/** How one persist job of a batch fared: rows new, or the error that stopped it alone. */
export type PersistOutcome = { ok: true; inserted: number } | { ok: false; error: unknown };

/**
 * Turns persist jobs into rows, one per request, idempotently: a job delivered twice finds its
 * rows already there (primary key = request id) and inserts nothing. Jobs are batched the way
 * images are before the model: while one INSERT runs, the jobs that arrive wait, and go together
 * as the next one, so a busy queue costs Postgres one statement per batch, not per image, and a
 * lone job is written at once. After the rows commit, the requests leave the ledger of unpersisted
 * requests and their Redis records are shortened; the items of batches among them are woken, and
 * the webhooks of those that asked for one are queued: this is where every request's end becomes
 * durable, whichever way it came (its own job, a shared job, the cache, the reconciler).
 */
@Injectable()
export class PersistService {
  private readonly logger = new Logger(PersistService.name);
  private readonly batcher: Batcher<PersistJob, PersistOutcome>;

  constructor(
    private readonly dataSource: DataSource,
    private readonly store: ArgusStore,
    private readonly metrics: Metrics,
    private readonly batches: BatchJobs,
    private readonly webhooks: WebhookJobs,
  ) {
    this.batcher = new Batcher<PersistJob, PersistOutcome>((jobs) => this.writeBatch(jobs), { maxBatchSize: JOBS_PER_BATCH, maxWaitMs: 0 }, (size) =>
      this.metrics.batchSize.observe({ model: 'results' }, size),
    );
  }

  /** Persists one job's rows (in a batch with whatever else is waiting); resolves with how many were new. */
  async persist(job: PersistJob): Promise<number> {
    const { output } = await this.batcher.submit(job);
    if (!output.ok) throw output.error;
    return output.inserted;
  }

  /**
   * One batch: a single INSERT for all; if it fails for a reason other than Postgres being away,
   * each job alone, so one bad job cannot hold the others back. An outage fails them all (they
   * are retried later without spending an attempt).
   */
  private async writeBatch(jobs: PersistJob[]): Promise<PersistOutcome[]> {
    try {
      const inserted = await this.write(jobs);
      return jobs.map((job) => ({ ok: true, inserted: persistRequests(job).filter((r) => inserted.has(r.id)).length }));
    } catch (error) {
      if (jobs.length === 1 || isOutage(error)) return jobs.map(() => ({ ok: false, error }));
      this.logger.warn({ msg: 'a batch of persist jobs failed; writing them one by one', jobs: jobs.length, error: error instanceof Error ? error.message : String(error) });
    }
    const outcomes: PersistOutcome[] = [];
    for (const job of jobs) {
      try {
        outcomes.push({ ok: true, inserted: (await this.write([job])).size });
      } catch (error) {
        outcomes.push({ ok: false, error });
      }
    }
    return outcomes;
  }

  /** Writes the rows of some jobs; returns the ids of the rows that were new. */
  private async write(jobs: readonly PersistJob[]): Promise<Set<string>> {
    const started = performance.now();
    const rows = new Map<string, Ended>();
    for (const job of jobs) for (const { end, records } of job.ends) for (const record of records) rows.set(record.id, { end, record, row: toRow(record, end) });
    const all = [...rows.values()];
    const inserted = new Set<string>();
    for (let i = 0; i < all.length; i += ROWS_PER_INSERT) {
      const chunk = all.slice(i, i + ROWS_PER_INSERT);
      // On a connection of its own: one that fails as in an outage (read-only after a failover) is closed, not reused.
      const result = await onOwnConnection(this.dataSource, (runner) =>
        this.dataSource
          .createQueryBuilder(runner)
          .insert()
          .into(DetectionEntity)
          .values(chunk.map((r) => r.row))
          .orIgnore()
          .returning(['id'])
          .execute(),
      );
      // ON CONFLICT DO NOTHING returns only the rows it inserted: a job delivered twice adds none.
      for (const { id } of (result.raw ?? []) as { id: string }[]) inserted.add(id);
    }
    // The rows are in Postgres: the requests leave the ledger, and their records go soon. If Redis
    // does not answer now, the rows stay written and the job done: the reconciler finds the
    // requests in the ledger later, hands them over again (a no-op insert) and settles them then.
    await this.store.settle([...rows.keys()]).catch((error: unknown) =>
      this.logger.warn({ msg: 'rows written; the ledger will be settled by the reconciler (Redis did not answer)', requests: rows.size, error: error instanceof Error ? error.message : String(error) }),
    );
    await this.announce(all);
    const ms = performance.now() - started;
    const now = Date.now();
    for (const { end, row } of all) {
      if (!inserted.has(row.id)) continue;
      const jobId = isCancel(end) ? null : end.jobId;
      this.metrics.observeStage('persist', ms, row.modelName, row.modelVersion);
      // End to end: from the gateway accepting the request to its row in Postgres (cache hits
      // are measured at the gateway as stage cache_hit).
      if (!row.cached) this.metrics.observeStage('end_to_end', now - row.createdAt.getTime(), row.modelName, row.modelVersion);
      withCorrelation(row.correlationId ?? '', () =>
        this.logger.log({ msg: 'row persisted', requestId: row.id, jobId, status: row.status, code: row.errorCode ?? undefined, cached: row.cached }),
      );
    }
    return inserted;
  }

  /**
   * What follows a request's committed end: its batch item is woken (a lost wake-up is covered by
   * the item's own re-check, so a failure here is only logged), and its webhook is queued under its
   * stable webhook id. That one must not be lost: a failure fails the persist job, whose retry finds
   * the rows there (no new ones) and queues the webhooks again. Every row of the jobs counts, not
   * only new ones, so a job replayed after a crash between the commit and here still queues them.
   */
  private async announce(all: readonly Ended[]): Promise<void> {
    const inBatches = all.filter((r) => r.record.batchId !== undefined).map((r) => r.record.id);
    if (inBatches.length > 0) {
      await this.batches.itemsEnded(inBatches).catch((error: unknown) =>
        this.logger.warn({ msg: 'batch items not woken now; they look for their rows themselves', requests: inBatches.length, error: error instanceof Error ? error.message : String(error) }),
      );
    }
    for (const { end, record } of all) {
      if (!record.callbackUrl || isCancel(end)) continue;
      const view = endedView(record, end);
      const type = view.status === 'completed' ? 'detection.completed' : 'detection.failed';
      await this.webhooks.send(webhookId(type, record.id), { url: record.callbackUrl, clientId: record.clientId ?? null, event: { type, data: view } });
    }
  }
}

/** One request of a persist job: how it ended, its record, and the row made of them. */
interface Ended {
  end: RequestEnd;
  record: RequestRecord;
  row: DetectionRow;
}

/** Whether a failure means Postgres is unavailable for now (worth waiting for), not that the rows are at fault: by SQLSTATE first (database/outage.ts). */
export function isOutage(error: unknown): boolean {
  return isDatabaseOutage(error);
}
