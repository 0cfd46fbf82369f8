import type { InferenceResult, RequestRecord } from '@argus/contracts';
import { createHash, randomUUID } from 'node:crypto';

const MODEL = { name: 'yolox-nano', version: 'v1' };
const PARAMS = { confidence: 0.25, iou: 0.45, classes: null, maxDetections: 300, agnostic: false };

/** A request record for tests; records made with the same `sha256` share a work key. */
export function testRequestRecord(sha256: string, overrides: Partial<RequestRecord> = {}): RequestRecord {
  return {
    id: randomUUID(),
    workKey: createHash('sha256').update(`${sha256}:${MODEL.name}:${MODEL.version}`).digest('hex'),
    sha256,
    width: 640,
    height: 480,
    bytes: 1000,
    model: MODEL,
    params: PARAMS,
    classLabels: null,
    priority: 'normal',
    correlationId: 'c-1',
    createdAt: new Date().toISOString(),
    ...overrides,
  };
}

/** An inference result for tests: one bus. */
export function testInferenceResult(): InferenceResult {
  return {
    model: MODEL,
    width: 640,
    height: 480,
    detections: [{ label: 'bus', classId: 5, score: 0.9, box: { x1: 1, y1: 2, x2: 3, y2: 4 } }],
    timings: { inference: 6 },
    provider: 'cpu',
    finishedAt: new Date().toISOString(),
  };
}

/** Redis retention settings for tests of the broker: short, so expiries can be checked. */
export function testRetention() {
  return {
    cacheTtlSeconds: 60,
    negativeCacheTtlSeconds: 30,
    cacheMaxEntries: 1000,
    imageTtlSeconds: 120,
    imageRetentionSeconds: 5,
    requestTtlSeconds: 300,
    idempotencyTtlSeconds: 600,
    reconcileAfterSeconds: 60,
  };
}
