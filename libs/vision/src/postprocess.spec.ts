import type { DetectParams } from '@argus/contracts';
import { letterboxGeometry } from './letterbox';
import { describeModel } from './model-spec';
import { postprocess } from './postprocess';

// A real YOLOv8 layout (640x640, 80 classes) with a hand-made output.
const spec = describeModel({
  inputs: [{ name: 'images', shape: [1, 3, 640, 640] }],
  outputs: [{ name: 'output0', shape: [1, 84, 8400] }],
});
const n = spec.numAnchors;
const PARAMS: DetectParams = { confidence: 0.25, iou: 0.45, classes: null, maxDetections: 300, agnostic: false };

function output(anchors: { cx: number; cy: number; w: number; h: number; cls: number; score: number }[]): Float32Array {
  const out = new Float32Array(84 * n);
  anchors.forEach((a, i) => {
    out[i] = a.cx;
    out[n + i] = a.cy;
    out[2 * n + i] = a.w;
    out[3 * n + i] = a.h;
    out[(4 + a.cls) * n + i] = a.score;
  });
  return out;
}

describe(postprocess.name, () => {
  // 1280x720 -> scale 0.5, 640x360 placed at top = 140.
  const image = { letterbox: letterboxGeometry('centre-rounded', 1280, 720, 640, 640), width: 1280, height: 720 };

  it('maps boxes back through the letterbox, labels them and sorts by score', () => {
    const out = output([
      { cx: 100, cy: 240, w: 40, h: 80, cls: 0, score: 0.6 },
      { cx: 300, cy: 300, w: 20, h: 20, cls: 5, score: 0.9 },
    ]);
    expect(postprocess(out, spec, image, PARAMS)).toEqual([
      { label: 'bus', classId: 5, score: expect.closeTo(0.9, 6), box: { x1: 580, y1: 300, x2: 620, y2: 340 } },
      { label: 'person', classId: 0, score: expect.closeTo(0.6, 6), box: { x1: 160, y1: 120, x2: 240, y2: 280 } },
    ]);
  });

  it('clips to the displayed image and drops boxes lying in the padding', () => {
    const out = output([
      { cx: 10, cy: 150, w: 40, h: 40, cls: 0, score: 0.8 }, // spills left and above the image
      { cx: 320, cy: 60, w: 100, h: 40, cls: 0, score: 0.7 }, // wholly in the top padding
    ]);
    const [only, ...rest] = postprocess(out, spec, image, PARAMS);
    expect(rest).toEqual([]);
    expect(only?.box).toEqual({ x1: 0, y1: 0, x2: 60, y2: 60 });
  });

  it('filters classes, and class filtering only removes detections', () => {
    const out = output([
      { cx: 100, cy: 200, w: 40, h: 40, cls: 0, score: 0.8 },
      { cx: 105, cy: 200, w: 40, h: 40, cls: 2, score: 0.7 },
      { cx: 400, cy: 300, w: 40, h: 40, cls: 2, score: 0.6 },
    ]);
    const all = postprocess(out, spec, image, PARAMS);
    const cars = postprocess(out, spec, image, { ...PARAMS, classes: [2] });
    expect(cars).toEqual(all.filter((d) => d.classId === 2));
    expect(cars).toHaveLength(2);
  });

  it('runs class-aware NMS unless agnostic, and caps the count', () => {
    const out = output([
      { cx: 100, cy: 200, w: 40, h: 40, cls: 0, score: 0.8 },
      { cx: 102, cy: 200, w: 40, h: 40, cls: 2, score: 0.7 },
      { cx: 400, cy: 300, w: 40, h: 40, cls: 2, score: 0.6 },
    ]);
    expect(postprocess(out, spec, image, PARAMS)).toHaveLength(3);
    expect(postprocess(out, spec, image, { ...PARAMS, agnostic: true }).map((d) => d.score)).toEqual([
      expect.closeTo(0.8, 6),
      expect.closeTo(0.6, 6),
    ]);
    expect(postprocess(out, spec, image, { ...PARAMS, maxDetections: 1 })).toHaveLength(1);
  });

  it('maps YOLOX boxes with no offset', () => {
    const yolox = describeModel({
      inputs: [{ name: 'images', shape: ['batch', 3, 416, 416] }],
      outputs: [{ name: 'output', shape: ['batch', 3549, 85] }],
    });
    const out = new Float32Array(3549 * 85);
    out.set([0.5, 0.5, 0, 0, 1, 0, 0, 0.9], 0); // stride 8 cell (0,0): centre (4,4), 8x8, class 2
    const letterbox = letterboxGeometry('top-left', 832, 624, 416, 416); // scale 0.5
    expect(postprocess(out, yolox, { letterbox, width: 832, height: 624 }, PARAMS)).toEqual([
      { label: 'car', classId: 2, score: expect.closeTo(0.9, 6), box: { x1: 0, y1: 0, x2: 16, y2: 16 } },
    ]);
  });
});
