import { requestTotal } from '@argus/broker';
import type { ErrorInfo, InferenceResult, RequestRecord } from '@argus/contracts';
import type { DetectionEntity } from '../database/detection.entity';

export type DetectionRow = Omit<DetectionEntity, 'persistedAt'>;

/** What happened to a request's work, as far as its row is concerned. */
export interface RowOutcome {
  jobId: string | null;
  result?: InferenceResult;
  error?: ErrorInfo;
  cached: boolean;
  attempts: number;
  /** When the work ended (or, for a cache hit, when the hit was answered). */
  endedAt: string;
}

/** Pure: the row for one request given how its work ended. */
export function toRow(record: RequestRecord, outcome: RowOutcome): DetectionRow {
  const { result, error } = outcome;
  const timings: Record<string, number> = {};
  if (result && !outcome.cached) {
    for (const [key, value] of Object.entries(result.timings)) if (typeof value === 'number') timings[key] = value;
    timings['total'] = requestTotal(record, result.finishedAt);
  }
  return {
    id: record.id,
    workKey: record.workKey,
    jobId: outcome.jobId,
    status: error ? 'failed' : 'completed',
    priority: record.priority,
    modelName: result?.model.name ?? record.model.name,
    modelVersion: result?.model.version ?? record.model.version,
    imageSha256: record.sha256,
    imageWidth: record.width,
    imageHeight: record.height,
    imageBytes: record.bytes,
    params: { ...record.params, classLabels: record.classLabels },
    detections: result?.detections ?? [],
    detectionCount: result?.detections.length ?? 0,
    timings,
    cached: outcome.cached,
    provider: result?.provider ?? null,
    errorCode: error?.code ?? null,
    errorMessage: error?.message ?? null,
    attempts: outcome.attempts,
    correlationId: record.correlationId,
    clientId: record.clientId ?? null,
    createdAt: new Date(record.createdAt),
    completedAt: new Date(outcome.cached ? record.createdAt : outcome.endedAt),
  };
}
