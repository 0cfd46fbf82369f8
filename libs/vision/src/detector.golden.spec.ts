import { buildConfig } from '@argus/config';
import type { DetectParams, Detection } from '@argus/contracts';
import { type ExpectedImage, expectedDetections, iou, testImage, testImagesDir, testModelRepository } from '@argus/testing';
import { readdirSync, readFileSync } from 'node:fs';
import { Detector } from './detector';
import { postprocess } from './postprocess';
import { preprocess } from './preprocess';

// Golden tests: both real models on every photo in ../shared/images against the independent
// reference in expected-detections.json, within the tolerance EXPECTED.md states.
const config = buildConfig({});
const LIMITS = { maxBytes: config.limits.maxImageBytes, maxPixels: config.limits.maxImagePixels };
const PARAMS: DetectParams = {
  confidence: config.defaults.confidence,
  iou: config.defaults.iou,
  maxDetections: config.defaults.maxDetections,
  classes: null,
  agnostic: false,
};
const MODELS = ['yolox-nano', 'yolov8n-int8'];
const expected = expectedDetections();

interface Tolerance {
  minScore: number;
  minIou: number;
  maxScoreDiff: number;
}

/** Reference detections (score >= minScore) without a one-to-one match of the same label within the tolerance. */
function unmatched(reference: ExpectedImage, found: Detection[], tolerance: Tolerance): string[] {
  const used = new Set<number>();
  const problems: string[] = [];
  const wanted = (reference.detections ?? []).filter((d) => d.score >= tolerance.minScore).sort((a, b) => b.score - a.score);
  for (const ref of wanted) {
    let best = -1;
    let bestIou = 0;
    found.forEach((d, i) => {
      if (used.has(i) || d.label !== ref.label || Math.abs(d.score - ref.score) > tolerance.maxScoreDiff) return;
      const overlap = iou(ref.box, [d.box.x1, d.box.y1, d.box.x2, d.box.y2]);
      if (overlap > bestIou) [best, bestIou] = [i, overlap];
    });
    if (best >= 0 && bestIou >= tolerance.minIou) used.add(best);
    else problems.push(`${ref.label} ${ref.score} [${ref.box.join(', ')}]: best IoU ${bestIou.toFixed(3)}`);
  }
  return problems;
}

describe('golden detections', () => {
  let detector: Detector;
  beforeAll(async () => {
    detector = await Detector.open({
      repository: testModelRepository(),
      models: MODELS,
      session: { executionProviders: ['cpu'], intraOpThreads: 0, interOpThreads: 0, warmupRuns: 1, maxBatchSize: 8 },
      limits: LIMITS,
    });
  });
  afterAll(() => detector.close());

  it('has a reference for every photo and model', () => {
    const photos = readdirSync(testImagesDir()).filter((f) => /\.(jpe?g|png|webp)$/i.test(f)).sort();
    for (const model of MODELS) expect(expected.filter((e) => e.model === model).map((e) => e.image).sort()).toEqual(photos);
  });

  describe.each(MODELS)('%s', (model) => {
    const references = expected.filter((e) => e.model === model && !e.error);

    it.each(references.map((r) => [r.image, r] as const))('finds what the reference finds in %s', async (image, reference) => {
      const [result] = await detector.detect(model, [readFileSync(testImage(image))], PARAMS);
      if (!result?.ok) throw new Error(`${image}: ${JSON.stringify(result)}`);
      expect([result.width, result.height]).toEqual([reference.width, reference.height]);
      expect(unmatched(reference, result.detections, { minScore: 0.5, minIou: 0.85, maxScoreDiff: 0.03 })).toEqual([]);
    });

    it('runs every photo as one batch with the same results', async () => {
      const images = references.map((r) => readFileSync(testImage(r.image)));
      const results = await detector.detect(model, images, PARAMS);
      results.forEach((result, i) => {
        const reference = references[i] as ExpectedImage;
        expect(result.ok && unmatched(reference, result.detections, { minScore: 0.5, minIou: 0.85, maxScoreDiff: 0.03 })).toEqual([]);
      });
    });

    it('refuses the 20000x14000 image with the pixel-limit error, without decoding it', async () => {
      const rss = process.memoryUsage().rss;
      const [result] = await detector.detect(model, [readFileSync(testImage('synthetic-gray-20000x14000.jpg'))], PARAMS);
      expect(result).toEqual({ ok: false, error: { code: 'image_too_large', message: expect.stringContaining('20000x14000') } });
      expect(process.memoryUsage().rss - rss).toBeLessThan(128 * 1024 * 1024);
    });
  });

  // The default decode skips the no-op conversion through embedded sRGB profiles (docs/adr/0002).
  // Converting every profile, as sharp does by default, reproduces the reference to its printed
  // precision: every detection, down to the 0.25 threshold.
  it.each(MODELS)('%s reproduces the reference exactly with sharp-default colour conversion', async (model) => {
    const session = detector.session(model);
    for (const reference of expected.filter((e) => e.model === model && !e.error)) {
      const prepared = await preprocess(readFileSync(testImage(reference.image)), session.spec, LIMITS, undefined, {
        kernel: 'lanczos3',
        fastShrinkOnLoad: true,
        icc: 'convert',
      });
      const [output] = await session.run([prepared.tensor]);
      const found = postprocess(output as Float32Array, session.spec, prepared, PARAMS);
      expect([reference.image, found.length]).toEqual([reference.image, reference.detections?.length]);
      expect([reference.image, unmatched(reference, found, { minScore: 0, minIou: 0.98, maxScoreDiff: 0.0006 })]).toEqual([
        reference.image,
        [],
      ]);
    }
  });
});
