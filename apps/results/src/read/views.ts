import type { DetectionView } from '@argus/contracts';
import type { DetectionEntity } from '../database/detection.entity';

/** Pure: a persisted row as clients see it. */
export function rowToView(row: DetectionEntity): DetectionView {
  return {
    id: row.id,
    status: row.status,
    priority: row.priority,
    model: { name: row.modelName, version: row.modelVersion },
    image: { width: row.imageWidth, height: row.imageHeight, sha256: row.imageSha256.trim() },
    params: {
      confidence: row.params.confidence,
      iou: row.params.iou,
      classes: row.params.classLabels,
      maxDetections: row.params.maxDetections,
      agnostic: row.params.agnostic,
    },
    detections: row.detections,
    timings: row.timings,
    cached: row.cached,
    error: row.errorCode ? { code: row.errorCode as NonNullable<DetectionView['error']>['code'], message: row.errorMessage ?? '' } : null,
    provider: row.provider,
    correlationId: row.correlationId,
    createdAt: row.createdAt.toISOString(),
    completedAt: row.completedAt.toISOString(),
  };
}

/** Opaque cursor for keyset pagination on (created_at, id), newest first. */
export function encodeCursor(row: Pick<DetectionEntity, 'createdAt' | 'id'>): string {
  return Buffer.from(`${row.createdAt.toISOString()}|${row.id}`).toString('base64url');
}

/** Reads a cursor back; null when it is not one of ours. */
export function decodeCursor(cursor: string): { createdAt: Date; id: string } | null {
  const [at, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  if (!at || !id || !/^[0-9a-f-]{36}$/.test(id)) return null;
  const createdAt = new Date(at);
  return Number.isNaN(createdAt.getTime()) ? null : { createdAt, id };
}
