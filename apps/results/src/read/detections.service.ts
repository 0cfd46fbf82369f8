import type { DetectionListQuery, DetectionPage, DetectionView, ReadScope } from '@argus/contracts';
import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { DetectionEntity } from '../database/detection.entity';
import { decodeCursor, encodeCursor, rowToView } from './views';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Reads persisted detections for the gateway. */
@Injectable()
export class DetectionsService {
  constructor(private readonly dataSource: DataSource) {}

  /** One detection by id within `scope`, or null (another client's detection is null too). */
  async get(id: string, scope: ReadScope): Promise<DetectionView | null> {
    if (!UUID.test(id)) return null;
    const row = await this.dataSource.getRepository(DetectionEntity).findOneBy(scope.owner === null ? { id } : { id, clientId: scope.owner });
    return row ? rowToView(row) : null;
  }

  /** A page of detections within `scope`, newest first, with filters; keyset pagination. */
  async list(query: DetectionListQuery, scope: ReadScope): Promise<DetectionPage> {
    const qb = this.dataSource.getRepository(DetectionEntity).createQueryBuilder('d');
    if (scope.owner !== null) qb.andWhere('d.clientId = :owner', { owner: scope.owner });
    if (query.status === 'queued' || query.status === 'active') return { items: [], nextCursor: null };
    if (query.status) qb.andWhere('d.status = :status', { status: query.status });
    if (query.model) qb.andWhere('d.modelName = :model', { model: query.model });
    if (query.priority) qb.andWhere('d.priority = :priority', { priority: query.priority });
    if (query.from) qb.andWhere('d.createdAt >= :from', { from: new Date(query.from) });
    if (query.to) qb.andWhere('d.createdAt < :to', { to: new Date(query.to) });
    if (query.after) {
      const cursor = decodeCursor(query.after);
      if (cursor) qb.andWhere('(d.createdAt, d.id) < (:cursorAt, :cursorId)', { cursorAt: cursor.createdAt, cursorId: cursor.id });
    }
    const rows = await qb.orderBy('d.createdAt', 'DESC').addOrderBy('d.id', 'DESC').limit(query.limit + 1).getMany();
    const page = rows.slice(0, query.limit);
    const last = page[page.length - 1];
    return { items: page.map(rowToView), nextCursor: rows.length > query.limit && last ? encodeCursor(last) : null };
  }
}
