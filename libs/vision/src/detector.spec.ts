import type { DetectParams } from '@argus/contracts';
import { testImage, testModelRepository } from '@argus/testing';
import { readFileSync } from 'node:fs';
import { Detector, toErrorInfo } from './detector';
import { ModelError } from './errors';

const SESSION = { executionProviders: ['cpu'], intraOpThreads: 1, interOpThreads: 1, warmupRuns: 1, maxBatchSize: 4 };
const LIMITS = { maxBytes: 20 * 1024 * 1024, maxPixels: 100_000_000 };
const PARAMS: DetectParams = { confidence: 0.25, iou: 0.45, classes: null, maxDetections: 300, agnostic: false };

describe(Detector.name, () => {
  let detector: Detector;
  beforeAll(async () => {
    detector = await Detector.open({ repository: testModelRepository(), models: ['yolox-nano'], session: SESSION, limits: LIMITS });
  });
  afterAll(() => detector.close());

  it('loads only the models asked for', () => {
    expect(detector.models().map((s) => s.entry.name)).toEqual(['yolox-nano']);
  });

  it('names the available models when asked for an unknown one', async () => {
    expect(() => detector.session('yolov9')).toThrow(new ModelError('unknown_model', 'no model named "yolov9"; available: yolox-nano'));
    await expect(Detector.open({ repository: testModelRepository(), models: ['nope'], session: SESSION, limits: LIMITS })).rejects.toMatchObject({
      code: 'unknown_model',
      message: expect.stringContaining('yolov8n-int8, yolox-nano'),
    });
  });

  it('fails bad images alone and still detects in the good ones', async () => {
    const bus = readFileSync(testImage('bus.jpg'));
    const results = await detector.detect(
      'yolox-nano',
      [
        Buffer.alloc(0),
        Buffer.from('just some text\n'),
        bus.subarray(0, 100_000),
        readFileSync(testImage('synthetic-gray-20000x14000.jpg')),
        bus,
      ],
      PARAMS,
    );
    expect(results.map((r) => (r.ok ? 'ok' : r.error.code))).toEqual([
      'empty_image',
      'not_an_image',
      'truncated_image',
      'image_too_large',
      'ok',
    ]);
    const good = results[4];
    expect(good?.ok && good.detections.filter((d) => d.label === 'person').length).toBe(4);
    expect(good?.ok && good.timings).toEqual({ preprocess: expect.any(Number), inference: expect.any(Number), postprocess: expect.any(Number) });
  });

  it('keeps only the classes asked for', async () => {
    const [result] = await detector.detect('yolox-nano', [readFileSync(testImage('bus.jpg'))], { ...PARAMS, classes: [5] });
    expect(result?.ok && result.detections.map((d) => d.label)).toEqual(['bus']);
  });
});

describe(toErrorInfo.name, () => {
  it('keeps typed codes and turns anything else into internal_error', () => {
    expect(toErrorInfo(new ModelError('inference_failed', 'boom'))).toEqual({ code: 'inference_failed', message: 'boom' });
    expect(toErrorInfo(new TypeError('oops'))).toEqual({ code: 'internal_error', message: 'oops' });
  });
});
