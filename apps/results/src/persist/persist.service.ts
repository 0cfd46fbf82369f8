import { ArgusStore } from '@argus/broker';
import type { RequestRecord, ResultJob } from '@argus/contracts';
import { Metrics, withCorrelation } from '@argus/observability';
import { Injectable, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { DetectionEntity } from '../database/detection.entity';
import { type RowOutcome, toRow } from './rows';

/**
 * Turns results messages into rows, one per request, idempotently: a redelivered message finds
 * its rows already there (primary key = request id) and inserts nothing.
 */
@Injectable()
export class PersistService {
  private readonly logger = new Logger(PersistService.name);

  constructor(
    private readonly dataSource: DataSource,
    private readonly store: ArgusStore,
    private readonly metrics: Metrics,
  ) {}

  /** Persists one results message; returns how many rows it inserted. */
  async persist(message: ResultJob): Promise<number> {
    const started = performance.now();
    let inserted: number;
    let model: { name: string; version: string } | undefined;
    switch (message.kind) {
      case 'cached': {
        const [record] = await this.store.getRequests([message.requestId]);
        if (!record) {
          this.logger.error({ msg: 'request record missing; cannot persist cache hit', requestId: message.requestId });
          return 0;
        }
        model = record.model;
        inserted = await this.insert([record], {
          jobId: null,
          ...(message.result ? { result: message.result } : {}),
          ...(message.error ? { error: message.error } : {}),
          cached: true,
          attempts: 0,
          endedAt: record.createdAt,
        });
        break;
      }
      case 'completed':
      case 'failed': {
        const outcome: RowOutcome =
          message.kind === 'completed'
            ? { jobId: message.jobId, result: message.result, cached: false, attempts: message.attempts, endedAt: message.result.finishedAt }
            : { jobId: message.jobId, error: message.error, cached: false, attempts: message.attempts, endedAt: message.failedAt };
        // Requests attach to work until its outcome is stored, and the outcome is stored before
        // this message is sent, so the set read here is complete.
        const ids = await this.store.attachedRequests(message.workKey);
        const records = await this.store.getRequests(ids);
        const found = records.filter((r): r is RequestRecord => r !== null);
        const lost = ids.filter((_, i) => records[i] === null);
        model = message.kind === 'completed' ? message.result.model : found[0]?.model;
        if (lost.length > 0) this.logger.error({ msg: 'request records missing (expired?)', workKey: message.workKey, requestIds: lost });
        inserted = await this.insert(found, outcome);
        await this.store.detach(message.workKey, ids);
        break;
      }
    }
    const ms = performance.now() - started;
    this.metrics.observeStage('persist', ms, model?.name, model?.version);
    return inserted;
  }

  private async insert(records: RequestRecord[], outcome: RowOutcome): Promise<number> {
    if (records.length === 0) return 0;
    const rows = records.map((r) => toRow(r, outcome));
    const result = await this.dataSource.createQueryBuilder().insert().into(DetectionEntity).values(rows).orIgnore().returning(['id']).execute();
    // ON CONFLICT DO NOTHING returns only the rows it inserted: a redelivered message adds none.
    const insertedIds = new Set(((result.raw ?? []) as { id: string }[]).map((r) => r.id));
    const now = Date.now();
    for (const record of records) {
      if (!insertedIds.has(record.id)) continue;
      // End to end: from the gateway accepting the request to its row in Postgres (cache hits
      // are measured at the gateway as stage cache_hit).
      if (!outcome.cached) this.metrics.observeStage('end_to_end', now - Date.parse(record.createdAt), outcome.result?.model.name ?? record.model.name, outcome.result?.model.version ?? record.model.version);
      withCorrelation(record.correlationId, () =>
        this.logger.log({ msg: 'row persisted', requestId: record.id, jobId: outcome.jobId, status: outcome.error ? 'failed' : 'completed', code: outcome.error?.code, cached: outcome.cached }),
      );
    }
    return insertedIds.size;
  }
}
