import { detectionView, finalStatus, type RequestRecord, type WorkEnd } from '@argus/contracts';
import type { DetectionEntity } from '../database/detection.entity';

export type DetectionRow = Omit<DetectionEntity, 'persistedAt'>;

/**
 * Pure: the row for one request given how its work ended. It stores the client's view as the
 * gateway built it (detectionView), plus what only operators need (work key, job, attempts, client).
 */
export function toRow(record: RequestRecord, end: WorkEnd): DetectionRow {
  const view = detectionView(record, finalStatus(end), end);
  return {
    id: view.id,
    workKey: record.workKey,
    jobId: end.jobId,
    status: view.status === 'failed' ? 'failed' : 'completed',
    priority: view.priority,
    modelName: view.model.name,
    modelVersion: view.model.version,
    imageSha256: view.image.sha256,
    imageWidth: view.image.width,
    imageHeight: view.image.height,
    imageBytes: record.bytes,
    params: { ...record.params, classLabels: record.classLabels },
    detections: view.detections,
    detectionCount: view.detections.length,
    timings: numericTimings(view.timings),
    cached: view.cached,
    provider: view.provider,
    errorCode: view.error?.code ?? null,
    errorMessage: view.error?.message ?? null,
    attempts: end.attempts,
    correlationId: record.correlationId,
    clientId: record.clientId ?? null,
    createdAt: new Date(view.createdAt),
    completedAt: new Date(view.completedAt ?? view.createdAt),
  };
}

function numericTimings(timings: Record<string, number | undefined>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(timings)) if (typeof value === 'number') out[key] = value;
  return out;
}
