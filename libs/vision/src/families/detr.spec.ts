import type { DetectParams } from '@argus/contracts';
import { letterboxGeometry } from '../letterbox';
import { describeModel, settleOutputs } from '../model-spec';
import { postprocess } from '../postprocess';
import { decodeDetr } from './detr';

const Q = 5;

/** One image's outputs laid end to end as the session hands them over: labels [Q], boxes [Q,4], scores [Q]. */
function outputs(queries: { label: number; box: [number, number, number, number]; score: number }[]): Float32Array {
  const out = new Float32Array(6 * Q);
  queries.forEach((q, i) => {
    out[i] = q.label;
    out.set(q.box, Q + 4 * i);
    out[5 * Q + i] = q.score;
  });
  return out;
}

describe(decodeDetr.name, () => {
  it('keeps queries scoring at least the confidence, with their label and x1y1x2y2 box as given', () => {
    const out = outputs([
      { label: 0, box: [10, 20, 30, 40], score: 0.9 },
      { label: 17, box: [1, 2, 3, 4], score: 0.39 },
      { label: 2, box: [50, 60, 70, 80], score: 0.4 },
    ]);
    expect(decodeDetr(out, Q, 0.4)).toEqual([
      { x1: 10, y1: 20, x2: 30, y2: 40, score: expect.closeTo(0.9, 6), classId: 0 },
      { x1: 50, y1: 60, x2: 70, y2: 80, score: expect.closeTo(0.4, 6), classId: 2 },
    ]);
  });

  it('skips NaN scores and labels that are no class index', () => {
    const out = outputs([
      { label: 1, box: [0, 0, 1, 1], score: NaN },
      { label: -1, box: [0, 0, 1, 1], score: 0.9 },
      { label: 1.5, box: [0, 0, 1, 1], score: 0.9 },
      { label: 3, box: [0, 0, 1, 1], score: 0.9 },
    ]);
    expect(decodeDetr(out, Q, 0.1).map((c) => c.classId)).toEqual([3]);
  });

  it('refuses outputs of the wrong size', () => {
    expect(() => decodeDetr(new Float32Array(6 * Q - 1), Q, 0.5)).toThrow(/expected 5 queries x \(label, 4 box values, score\)/);
  });
});

describe('postprocess of a DETR head', () => {
  const spec = settleOutputs(
    describeModel({
      inputs: [
        { name: 'images', shape: [1, 3, 320, 320] },
        { name: 'orig_target_sizes', shape: [1, 2] },
      ],
      outputs: [
        { name: 'labels', shape: ['q'] },
        { name: 'boxes', shape: ['q', 4] },
        { name: 'scores', shape: ['q'] },
      ],
    }),
    [Q, 4 * Q, Q],
  );
  // 1280x720 -> scale 0.25, 320x180 pasted at top = 70 (floor of 140 / 2).
  const image = { letterbox: letterboxGeometry('centre-floored', 1280, 720, 320, 320), width: 1280, height: 720 };
  const PARAMS: DetectParams = { confidence: 0.3, iou: 0.45, classes: null, maxDetections: 300, agnostic: false };
  const out = outputs([
    { label: 0, box: [40, 80, 80, 160], score: 0.5 },
    // Overlaps the first almost entirely, same class: a DETR head means it (one query per object).
    { label: 0, box: [41, 81, 81, 161], score: 0.8 },
    { label: 2, box: [200, 100, 240, 140], score: 0.6 },
    { label: 5, box: [100, 10, 200, 60], score: 0.9 }, // wholly in the top padding
    { label: 7, box: [-10, 60, 20, 90], score: 0.35 }, // spills left and above the image
  ]);

  it('maps boxes back by removing the padding and dividing by the scale, best score first, without NMS', () => {
    expect(postprocess(out, spec, image, PARAMS)).toEqual([
      { label: 'person', classId: 0, score: expect.closeTo(0.8, 6), box: { x1: 164, y1: 44, x2: 324, y2: 364 } },
      { label: 'car', classId: 2, score: expect.closeTo(0.6, 6), box: { x1: 800, y1: 120, x2: 960, y2: 280 } },
      { label: 'person', classId: 0, score: expect.closeTo(0.5, 6), box: { x1: 160, y1: 40, x2: 320, y2: 360 } },
      { label: 'truck', classId: 7, score: expect.closeTo(0.35, 6), box: { x1: 0, y1: 0, x2: 80, y2: 80 } },
    ]);
  });

  it('ignores iou and agnostic (there is no NMS), and honours classes and maxDetections', () => {
    const all = postprocess(out, spec, image, PARAMS);
    expect(postprocess(out, spec, image, { ...PARAMS, iou: 0, agnostic: true })).toEqual(all);
    expect(postprocess(out, spec, image, { ...PARAMS, classes: [0] }).map((d) => d.score)).toEqual([expect.closeTo(0.8, 6), expect.closeTo(0.5, 6)]);
    expect(postprocess(out, spec, image, { ...PARAMS, maxDetections: 2 }).map((d) => d.classId)).toEqual([0, 2]);
    expect(postprocess(out, spec, image, { ...PARAMS, confidence: 0.55 }).map((d) => d.classId)).toEqual([0, 2]);
  });
});
