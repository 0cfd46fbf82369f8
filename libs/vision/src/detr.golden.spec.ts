import { buildConfig } from '@argus/config';
import type { DetectParams, Detection } from '@argus/contracts';
import { expectedDetections, iou, testDetrModel, testImage, testImagesDir } from '@argus/testing';
import { readdirSync, readFileSync } from 'node:fs';
import { Detector } from './detector';
import { readModelFile } from './model-repository';

// Golden tests of the DETR family: the real DEIMv2-Atto int8 export on every photo, against the
// scores its upstream preprocessing gives (published with the model, every detection >= 0.40).
// The model is weak (int8, 0.5 M parameters); what is checked is that our preprocessing and
// decoding reproduce the upstream convention's results, not that it finds everything.
const config = buildConfig({});
const LIMITS = { maxBytes: config.limits.maxImageBytes, maxPixels: config.limits.maxImagePixels };
/** Low enough to find a reference detection that drifts below 0.40 within the tolerance. */
const PARAMS: DetectParams = { confidence: 0.3, iou: config.defaults.iou, maxDetections: 300, classes: null, agnostic: false };
const REPORTED = 0.4;
const SCORE_TOLERANCE = 0.03;

type Reference = [label: string, score: number, tolerance?: number][];
const REFERENCE: Record<string, Reference> = {
  'bus.jpg': [
    ['person', 0.51],
    ['person', 0.46],
  ],
  'coco-000000000139-livingroom.jpg': [
    ['chair', 0.6],
    ['person', 0.53],
    ['person', 0.52],
    ['dining table', 0.51],
    ['person', 0.45],
  ],
  'darknet-horses.png': [
    ['cow', 0.61],
    // A second query on the cow's box. It scores 0.42 with the linear resize; the resamplings
    // that give it 0.47-0.49 (lanczos3, an exact port of Pillow's bilinear filter) lose the cow and
    // move other photos out of tolerance (docs/adr/0014). This int8 model moves scores by up to
    // 0.08 on one-level pixel changes: the one reference detection checked more loosely.
    ['horse', 0.5, 0.09],
  ],
  'zidane.jpg': [['person', 0.46]],
  'darknet-dog.jpg': [],
  'coco-000000000785-skier-exif6.jpg': [],
  'saw-2725x2225.jpg': [],
  'tree-no-objects.webp': [],
};
/** Photos the reference says nothing about: only box geometry is checked there. */
const UNLISTED = ['coco-000000002006-bus-640x480.jpg', 'coco-000000007888-grayscale.jpg'];
const TOO_LARGE = 'synthetic-gray-20000x14000.jpg';

/** Reference detections without a one-to-one match of the same label within its tolerance, and detections the reference does not have. */
function compare(reference: Reference, found: Detection[]): { missing: string[]; extra: string[] } {
  const used = new Set<number>();
  const missing: string[] = [];
  for (const [label, score, tolerance = SCORE_TOLERANCE] of [...reference].sort((a, b) => b[1] - a[1])) {
    let best = -1;
    found.forEach((d, i) => {
      if (used.has(i) || d.label !== label || Math.abs(d.score - score) > tolerance) return;
      if (best < 0 || Math.abs(d.score - score) < Math.abs((found[best] as Detection).score - score)) best = i;
    });
    if (best >= 0) used.add(best);
    else missing.push(`${label} ${score}`);
  }
  // Reported means >= 0.40; one just above may be a reference just below: the tolerance again.
  const extra = found.filter((d, i) => !used.has(i) && d.score >= REPORTED + SCORE_TOLERANCE).map((d) => `${d.label} ${d.score.toFixed(3)}`);
  return { missing, extra };
}

function outsideImage(d: Detection, width: number, height: number): boolean {
  const { x1, y1, x2, y2 } = d.box;
  return !(x1 >= 0 && y1 >= 0 && x2 <= width && y2 <= height && x2 - x1 >= 1 && y2 - y1 >= 1);
}

describe('golden detections of a DETR-family model (deimv2-atto-int8)', () => {
  let detector: Detector;
  let name: string;
  beforeAll(async () => {
    const entry = await readModelFile(testDetrModel());
    name = entry.name;
    detector = await Detector.load([entry], {
      session: { executionProviders: ['cpu'], intraOpThreads: 0, interOpThreads: 0, warmupRuns: 1, maxBatchSize: 8 },
      limits: LIMITS,
    });
  });
  afterAll(() => detector.close());

  it('covers every photo', () => {
    const photos = readdirSync(testImagesDir()).filter((f) => /\.(jpe?g|png|webp)$/i.test(f)).sort();
    expect([...Object.keys(REFERENCE), ...UNLISTED, TOO_LARGE].sort()).toEqual(photos);
  });

  it.each(Object.entries(REFERENCE))('finds what the reference finds in %s, with sane boxes', async (image, reference) => {
    const [result] = await detector.detect(name, [readFileSync(testImage(image))], PARAMS);
    if (!result?.ok) throw new Error(`${image}: ${JSON.stringify(result)}`);
    expect(compare(reference, result.detections)).toEqual({ missing: [], extra: [] });
    expect(result.detections.filter((d) => outsideImage(d, result.width, result.height))).toEqual([]);
  });

  it.each(UNLISTED)('gives sane boxes in %s', async (image) => {
    const [result] = await detector.detect(name, [readFileSync(testImage(image))], PARAMS);
    if (!result?.ok) throw new Error(`${image}: ${JSON.stringify(result)}`);
    expect(result.detections.filter((d) => outsideImage(d, result.width, result.height))).toEqual([]);
  });

  // Scores only say the model saw the same thing; where the boxes land says the padding and scale
  // were undone right. The YOLOX reference boxes of the same photos are independent of this model.
  it.each([
    ['bus.jpg', 'person'],
    ['darknet-horses.png', 'cow'],
    ['zidane.jpg', 'person'],
  ])('puts the best %s %s on the object the YOLOX reference finds there', async (image, label) => {
    const [result] = await detector.detect(name, [readFileSync(testImage(image))], PARAMS);
    if (!result?.ok) throw new Error(`${image}: ${JSON.stringify(result)}`);
    const best = result.detections.find((d) => d.label === label) as Detection;
    const boxes = (expectedDetections().find((e) => e.model === 'yolox-nano' && e.image === image)?.detections ?? []).filter((d) => d.label === label);
    const overlap = Math.max(...boxes.map((d) => iou(d.box, [best.box.x1, best.box.y1, best.box.x2, best.box.y2])));
    expect(overlap).toBeGreaterThan(0.7);
  });

  it('refuses the 20000x14000 image with the pixel-limit error, without decoding it', async () => {
    const rss = process.memoryUsage().rss;
    const [result] = await detector.detect(name, [readFileSync(testImage(TOO_LARGE))], PARAMS);
    expect(result).toEqual({ ok: false, error: { code: 'image_too_large', message: expect.stringContaining('20000x14000') } });
    expect(process.memoryUsage().rss - rss).toBeLessThan(128 * 1024 * 1024);
  });

  it('runs the photos given together with the results they get alone (one image per run)', async () => {
    const images = Object.keys(REFERENCE);
    const together = await detector.detect(name, images.map((f) => readFileSync(testImage(f))), PARAMS);
    for (const [i, image] of images.entries()) {
      const [alone] = await detector.detect(name, [readFileSync(testImage(image))], PARAMS);
      const detections = (r: (typeof together)[number] | undefined) => (r?.ok ? r.detections : r);
      expect([image, detections(together[i])]).toEqual([image, detections(alone)]);
    }
  });
});
