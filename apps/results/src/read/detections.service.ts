import { ArgusStore } from '@argus/broker';
import type { DetectionListQuery, DetectionPage, DetectionView, ReadScope } from '@argus/contracts';
import { Injectable, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { DetectionEntity } from '../database/detection.entity';
import { decodeCursor, encodeCursor, rowToView } from './views';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A list request whose cursor is not one this service gave out. */
export class InvalidCursorError extends Error {
  constructor() {
    super('cursor: not a cursor of this list (pass the previous page\'s nextCursor as it is)');
    this.name = 'InvalidCursorError';
  }
}

/** Reads (and erases) persisted detections for the gateway. */
@Injectable()
export class DetectionsService {
  private readonly logger = new Logger(DetectionsService.name);

  constructor(
    private readonly dataSource: DataSource,
    private readonly store: ArgusStore,
  ) {}

  /** One detection by id within `scope`, or null (another client's detection is null too). */
  async get(id: string, scope: ReadScope): Promise<DetectionView | null> {
    const row = await this.row(id, scope);
    return row ? rowToView(row) : null;
  }

  /**
   * A page of detections within `scope`, newest first, with filters; keyset pagination on
   * (created_at, id), which the (client_id, created_at, id) index serves for a client's own list.
   * Only ended requests have rows: a status filter of queued or active finds none.
   */
  async list(query: DetectionListQuery, scope: ReadScope): Promise<DetectionPage> {
    const cursor = query.cursor === undefined ? null : decodeCursor(query.cursor);
    if (query.cursor !== undefined && !cursor) throw new InvalidCursorError();
    if (query.status === 'queued' || query.status === 'active') return { items: [], nextCursor: null };
    const qb = this.dataSource.getRepository(DetectionEntity).createQueryBuilder('d');
    if (scope.owner !== null) qb.andWhere('d.clientId = :owner', { owner: scope.owner });
    if (query.status) qb.andWhere('d.status = :status', { status: query.status });
    if (query.model) qb.andWhere('d.modelName = :model', { model: query.model });
    if (query.priority) qb.andWhere('d.priority = :priority', { priority: query.priority });
    if (query.since) qb.andWhere('d.createdAt >= :since', { since: new Date(query.since) });
    if (query.until) qb.andWhere('d.createdAt < :until', { until: new Date(query.until) });
    if (cursor) qb.andWhere('(d.createdAt, d.id) < (:cursorAt, :cursorId)', { cursorAt: cursor.createdAt, cursorId: cursor.id });
    const rows = await qb.orderBy('d.createdAt', 'DESC').addOrderBy('d.id', 'DESC').limit(query.limit + 1).getMany();
    const page = rows.slice(0, query.limit);
    const last = page[page.length - 1];
    return { items: page.map(rowToView), nextCursor: rows.length > query.limit && last ? encodeCursor(last) : null };
  }

  /**
   * Erases a finished detection within `scope`: first what Redis keeps of it (its cached outcome,
   * its image unless a waiting job holds the same bytes, its record), then its row, so a failure
   * half-way leaves the row for the client to erase again. False when there is no such row.
   */
  async erase(id: string, scope: ReadScope): Promise<boolean> {
    const row = await this.row(id, scope);
    if (!row) return false;
    const erased = await this.store.erase({ id: row.id, workKey: row.workKey.trim(), sha256: row.imageSha256.trim() });
    await this.dataSource.getRepository(DetectionEntity).delete({ id: row.id });
    this.logger.log({ msg: 'detection erased', requestId: row.id, clientId: row.clientId ?? undefined, ...erased });
    return true;
  }

  private row(id: string, scope: ReadScope): Promise<DetectionEntity | null> {
    if (!UUID.test(id)) return Promise.resolve(null);
    return this.dataSource.getRepository(DetectionEntity).findOneBy(scope.owner === null ? { id } : { id, clientId: scope.owner });
  }
}
