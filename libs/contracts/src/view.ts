import type { DetectionStatus, DetectionView } from './api';
import { type CancelEnd, isCancel, type RequestEnd, type WorkEnd } from './outcome';
import type { RequestRecord } from './requests';

/**
 * The client's view of a request: from its record, where it stands, and (once its work ended) how
 * it ended. The one builder of a DetectionView: the gateway answers with it, and apps/results
 * stores it as the row, so a request reads the same before and after it is persisted.
 */
export function detectionView(record: RequestRecord, status: DetectionStatus, end: Pick<WorkEnd, 'outcome' | 'cached'> | null = null): DetectionView {
  const outcome = end?.outcome;
  const result = outcome?.ok ? outcome.result : undefined;
  const error = outcome && !outcome.ok ? outcome.error : null;
  const cached = end?.cached ?? false;
  const completedAt = !outcome ? null : cached ? record.createdAt : outcome.ok ? outcome.result.finishedAt : outcome.failedAt;
  return {
    id: record.id,
    status,
    priority: record.priority,
    model: result?.model ?? record.model,
    image: { width: record.width, height: record.height, sha256: record.sha256 },
    params: {
      confidence: record.params.confidence,
      iou: record.params.iou,
      classes: record.classLabels,
      maxDetections: record.params.maxDetections,
      agnostic: record.params.agnostic,
    },
    detections: result?.detections ?? [],
    // A cache hit ran no stage of its own; the original's timings would mislead.
    timings: result && !cached ? { ...result.timings, total: requestTotal(record, result.finishedAt) } : {},
    cached,
    error,
    provider: result?.provider ?? null,
    correlationId: record.correlationId,
    createdAt: record.createdAt,
    completedAt,
  };
}

/** The status a finished request has: completed or failed, by its outcome. */
export function finalStatus(end: Pick<WorkEnd, 'outcome'>): 'completed' | 'failed' {
  return end.outcome.ok ? 'completed' : 'failed';
}

/** The view of a request canceled at `end.at`: no boxes, no error, ended then. */
export function canceledView(record: RequestRecord, end: CancelEnd): DetectionView {
  return { ...detectionView(record, 'canceled'), completedAt: end.at };
}

/** The view of a request that ended, however it ended (the row apps/results stores). */
export function endedView(record: RequestRecord, end: RequestEnd): DetectionView {
  return isCancel(end) ? canceledView(record, end) : detectionView(record, finalStatus(end), end);
}

/** End-to-end time of one request: from its own arrival to the end of the work it got. */
export function requestTotal(record: Pick<RequestRecord, 'createdAt'>, finishedAt: string): number {
  return Math.max(0, Date.parse(finishedAt) - Date.parse(record.createdAt));
}
