import type { InferenceResult, ModelInfo, RequestRecord } from '@argus/contracts';
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

/** A published model for tests: yolox-nano v1 with the labels given (COCO's first six by default). */
export function testModelInfo(labels: string[] = ['person', 'bicycle', 'car', 'motorcycle', 'airplane', 'bus']): ModelInfo {
  return {
    name: MODEL.name,
    version: MODEL.version,
    digest: 'f'.repeat(64),
    weight: 100,
    family: 'yolox',
    input: { width: 416, height: 416 },
    dynamicBatch: true,
    maxBatchSize: 8,
    labels,
    provider: 'cpu',
    requestedProviders: ['cpu'],
    loadMs: 1,
    warmupMs: 1,
    updatedAt: '2026-01-01T00:00:00Z',
  };
}
