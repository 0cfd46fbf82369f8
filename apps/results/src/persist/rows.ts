import { endedView, isCancel, type RequestEnd, type RequestRecord } from '@argus/contracts';
import type { DetectionEntity } from '../database/detection.entity';

export type DetectionRow = Omit<DetectionEntity, 'persistedAt'>;

/**
 * Pure: the row for one request given how it ended (its work's end, or its cancellation). It
 * stores the client's view as the gateway built it (endedView), plus what only operators need
 * (work key, job, attempts, client).
 */
export function toRow(record: RequestRecord, end: RequestEnd): DetectionRow {
  const view = endedView(record, end);
  const canceled = isCancel(end);
  return {
    id: view.id,
    workKey: record.workKey,
    jobId: canceled ? null : end.jobId,
    status: canceled ? 'canceled' : view.status === 'failed' ? 'failed' : 'completed',
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
    attempts: canceled ? 0 : end.attempts,
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
