import type { ResultsEntry } from '@argus/broker';
import type { RequestRecord, ResultJob } from '@argus/contracts';
import { Metrics, withCorrelation } from '@argus/observability';
import { Injectable, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { onOwnConnection } from '../database/database';
import { DetectionEntity } from '../database/detection.entity';
import { type DetectionRow, type RowOutcome, toRow } from './rows';

/** Rows per INSERT: far below Postgres's 65535 parameters at ~25 columns a row. */
const ROWS_PER_INSERT = 500;

/**
 * Turns results messages into rows, one per request, idempotently: a redelivered message finds
 * its rows already there (primary key = request id) and inserts nothing. A batch of messages is
 * one INSERT, so a busy stream costs Postgres one statement per batch, not per image.
 */
@Injectable()
export class PersistService {
  private readonly logger = new Logger(PersistService.name);

  constructor(
    private readonly dataSource: DataSource,
    private readonly metrics: Metrics,
  ) {}

  /** Persists the rows of a batch of results messages; returns how many rows were new. */
  async persist(entries: readonly ResultsEntry[]): Promise<number> {
    const started = performance.now();
    const rows = new Map<string, { record: RequestRecord; outcome: RowOutcome; row: DetectionRow }>();
    for (const entry of entries) {
      for (const record of entry.records) {
        const outcome = rowOutcome(entry.message, record);
        rows.set(record.id, { record, outcome, row: toRow(record, outcome) });
      }
      if (entry.missing.length > 0) {
        this.logger.error({ msg: 'request records missing (expired?); their rows cannot be written', workKey: entry.message.workKey, requestIds: entry.missing });
      }
    }
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
      // ON CONFLICT DO NOTHING returns only the rows it inserted: a redelivered message adds none.
      for (const { id } of (result.raw ?? []) as { id: string }[]) inserted.add(id);
    }
    const ms = performance.now() - started;
    const now = Date.now();
    for (const { record, outcome } of all) {
      if (!inserted.has(record.id)) continue;
      const model = outcome.result?.model ?? record.model;
      this.metrics.observeStage('persist', ms, model.name, model.version);
      // End to end: from the gateway accepting the request to its row in Postgres (cache hits
      // are measured at the gateway as stage cache_hit).
      if (!outcome.cached) this.metrics.observeStage('end_to_end', now - Date.parse(record.createdAt), model.name, model.version);
      withCorrelation(record.correlationId, () =>
        this.logger.log({ msg: 'row persisted', requestId: record.id, jobId: outcome.jobId, status: outcome.error ? 'failed' : 'completed', code: outcome.error?.code, cached: outcome.cached }),
      );
    }
    return inserted.size;
  }
}

/** How a message's work ended, as a request's row records it. */
function rowOutcome(message: ResultJob, record: RequestRecord): RowOutcome {
  switch (message.kind) {
    case 'completed':
      return { jobId: message.jobId, result: message.result, cached: false, attempts: message.attempts, endedAt: message.result.finishedAt };
    case 'failed':
      return { jobId: message.jobId, error: message.error, cached: false, attempts: message.attempts, endedAt: message.failedAt };
    case 'cached':
      return {
        jobId: null,
        ...(message.result ? { result: message.result } : {}),
        ...(message.error ? { error: message.error } : {}),
        cached: true,
        attempts: 0,
        endedAt: record.createdAt,
      };
  }
}
