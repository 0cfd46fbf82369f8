import type { InferenceResult, RequestRecord, WorkEnd } from '@argus/contracts';
import { toRow } from './rows';

const record: RequestRecord = {
  id: '01a2014a-ba42-70d9-b9c2-b45b56eca1e0',
  workKey: 'k'.repeat(64),
  sha256: 's'.repeat(64),
  width: 810,
  height: 1080,
  bytes: 1234,
  model: { name: 'yolox-nano', version: 'v1' },
  params: { confidence: 0.25, iou: 0.45, classes: [5], maxDetections: 300, agnostic: false },
  classLabels: ['bus'],
  priority: 'high',
  correlationId: 'corr',
  createdAt: '2026-11-22T10:00:00.000Z',
};
const result: InferenceResult = {
  model: { name: 'yolox-nano', version: 'v1' },
  width: 810,
  height: 1080,
  detections: [{ label: 'bus', classId: 5, score: 0.9, box: { x1: 1, y1: 2, x2: 3, y2: 4 } }],
  timings: { queueWait: 3, inference: 6, total: 40 },
  provider: 'cpu',
  finishedAt: '2026-11-22T10:00:00.050Z',
};

const end = (outcome: WorkEnd['outcome'], cached = false): WorkEnd => ({ workKey: record.workKey, jobId: cached ? null : 'job', attempts: cached ? 0 : 1, cached, outcome });

describe(toRow.name, () => {
  it('builds a completed row with the request total measured from its own arrival', () => {
    const row = toRow(record, end({ ok: true, result }));
    expect(row).toMatchObject({ id: record.id, status: 'completed', priority: 'high', detectionCount: 1, cached: false, errorCode: null, provider: 'cpu' });
    expect(row.timings).toEqual({ queueWait: 3, inference: 6, total: 50 });
    expect(row.params.classLabels).toEqual(['bus']);
  });

  it('builds a failed row with the error and no detections', () => {
    const row = toRow(record, end({ ok: false, error: { code: 'corrupt_image', message: 'bad' }, failedAt: '2026-11-22T10:00:01.000Z' }));
    expect(row).toMatchObject({ status: 'failed', errorCode: 'corrupt_image', errorMessage: 'bad', detections: [], detectionCount: 0 });
    expect(row.completedAt.toISOString()).toBe('2026-11-22T10:00:01.000Z');
  });

  it('builds a canceled row: no boxes, no error, no job, ended when it was canceled', () => {
    const row = toRow(record, { canceled: true, at: '2026-11-22T10:00:02.000Z' });
    expect(row).toMatchObject({ status: 'canceled', jobId: null, attempts: 0, detections: [], detectionCount: 0, errorCode: null, cached: false, timings: {} });
    expect(row.completedAt.toISOString()).toBe('2026-11-22T10:00:02.000Z');
  });

  it('marks a cache hit, which ran no stage of its own', () => {
    const row = toRow(record, end({ ok: true, result }, true));
    expect(row).toMatchObject({ cached: true, jobId: null, timings: {} });
    expect(row.completedAt.toISOString()).toBe(record.createdAt);
  });
});
