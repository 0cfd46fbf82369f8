import type { DetectionStatus, DetectionView, ErrorInfo, InferenceResult, RequestRecord } from '@argus/contracts';

/**
 * The client's view of a request that apps/results has not persisted yet, from its Redis record
 * and, when the work is done, its outcome.
 */
export function pendingView(
  record: RequestRecord,
  status: DetectionStatus,
  outcome: { result?: InferenceResult; error?: ErrorInfo } = {},
  cached = false,
): DetectionView {
  const { result, error } = outcome;
  const completedAt = cached ? record.createdAt : (result?.finishedAt ?? (error ? new Date().toISOString() : null));
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
    error: error ?? null,
    provider: result?.provider ?? null,
    correlationId: record.correlationId,
    createdAt: record.createdAt,
    completedAt,
  };
}

/** End-to-end time of one request: from its own arrival to the end of the work it got. */
export function requestTotal(record: Pick<RequestRecord, 'createdAt'>, finishedAt: string): number {
  return Math.max(0, Date.parse(finishedAt) - Date.parse(record.createdAt));
}
