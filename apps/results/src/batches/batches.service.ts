import { type BatchItemEnd, type BatchItemResult, type BatchJob, type BatchView, batchCounts, type ReadScope } from '@argus/contracts';
import { Injectable } from '@nestjs/common';
import { DataSource, In } from 'typeorm';
import { BatchEntity } from '../database/batch.entity';
import { DetectionEntity } from '../database/detection.entity';
import { rowToView } from '../read/views';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Pure: a batch row as clients see it. */
export function rowToBatchView(row: BatchEntity): BatchView {
  return {
    id: row.id,
    status: 'completed',
    total: row.total,
    completed: row.completed,
    failed: row.failed,
    items: row.items,
    createdAt: row.createdAt.toISOString(),
    completedAt: row.completedAt.toISOString(),
  };
}

/** Finished batches in Postgres: written once every item ended, read for the gateway within a scope. */
@Injectable()
export class BatchesService {
  constructor(private readonly dataSource: DataSource) {}

  /** Writes a finished batch's row (once: a replayed batch job finds it and returns it as it was). */
  async finish(batch: BatchJob, ends: readonly BatchItemEnd[], at = new Date()): Promise<BatchView> {
    const counts = batchCounts(ends);
    const total = batch.items.length;
    await this.repository()
      .createQueryBuilder()
      .insert()
      .into(BatchEntity)
      .values({
        id: batch.batchId,
        clientId: batch.clientId,
        items: batch.items,
        total,
        completed: counts.completed,
        // Items whose job failed for good left no end: they count as failed too.
        failed: total - counts.completed,
        createdAt: new Date(batch.createdAt),
        completedAt: at,
      })
      .orIgnore()
      .execute();
    const row = await this.repository().findOneByOrFail({ id: batch.batchId });
    return rowToBatchView(row);
  }

  /** A finished batch within `scope`, or null (another client's batch is null too). */
  async get(id: string, scope: ReadScope): Promise<BatchView | null> {
    const row = await this.row(id, scope);
    return row ? rowToBatchView(row) : null;
  }

  /**
   * A page of a finished batch's results in the order its images were sent: each item's
   * detection with the image's name. Items whose detection was erased since are left out. Null
   * when there is no such batch in the scope.
   */
  async results(id: string, scope: ReadScope, offset: number, limit: number): Promise<{ items: BatchItemResult[]; total: number } | null> {
    const row = await this.row(id, scope);
    if (!row) return null;
    const slice = row.items.slice(offset, offset + limit);
    const ids = slice.map((item) => item.id);
    const detections = ids.length === 0 ? [] : await this.dataSource.getRepository(DetectionEntity).findBy(scope.owner === null ? { id: In(ids) } : { id: In(ids), clientId: scope.owner });
    const byId = new Map(detections.map((d) => [d.id, d]));
    const items: BatchItemResult[] = [];
    for (const item of slice) {
      const detection = byId.get(item.id);
      if (detection) items.push({ image: item.image, detection: rowToView(detection) });
    }
    return { items, total: row.items.length };
  }

  private row(id: string, scope: ReadScope): Promise<BatchEntity | null> {
    if (!UUID.test(id)) return Promise.resolve(null);
    return this.repository().findOneBy(scope.owner === null ? { id } : { id, clientId: scope.owner });
  }

  private repository() {
    return this.dataSource.getRepository(BatchEntity);
  }
}
