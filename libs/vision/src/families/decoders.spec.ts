import { ModelError } from '../errors';
import { decodeYolov8 } from './yolov8';
import { decodeYolox } from './yolox';

// A 64x32 input: strides 8, 16, 32 give grids of 8x4, 4x2 and 2x1 = 42 anchors.
const HEAD = { inputWidth: 64, inputHeight: 32, numClasses: 3, numAnchors: 42 };

describe(decodeYolox.name, () => {
  const step = 5 + HEAD.numClasses;
  function output(anchors: Record<number, number[]>): Float32Array {
    const out = new Float32Array(HEAD.numAnchors * step);
    for (const [i, values] of Object.entries(anchors)) out.set(values, Number(i) * step);
    return out;
  }

  it('decodes grid offsets and exp sizes on every stride, x fastest', () => {
    const out = output({
      // stride 8, gx=2 gy=1 -> anchor 1*8+2
      10: [0.5, 0.5, 0, Math.log(2), 0.9, 0.1, 0.8, 0.2],
      // stride 16 starts at 32; gx=3 gy=1 -> 32 + 1*4 + 3
      39: [0, 0, 0, 0, 0.5, 0.6, 0.1, 0.1],
      // stride 32 starts at 40; gx=1 -> 41; obj*cls = 0.9*0.25 < 0.25
      41: [0, 0, 0, 0, 0.9, 0.25, 0, 0],
    });
    const found = decodeYolox(out, HEAD, 0.25);
    expect(found).toHaveLength(2);
    const [a, b] = found;
    expect(a).toEqual({ x1: 16, y1: expect.closeTo(4, 5), x2: 24, y2: expect.closeTo(20, 5), score: expect.closeTo(0.72, 6), classId: 1 });
    expect(b).toEqual({ x1: 40, y1: 8, x2: 56, y2: 24, score: expect.closeTo(0.3, 6), classId: 0 });
  });

  it('scores obj * best class and applies the threshold to that product', () => {
    const out = output({ 0: [0, 0, 0, 0, 0.9, 0.3, 0.2, 0.1] });
    expect(decodeYolox(out, HEAD, 0.25)).toEqual([expect.objectContaining({ classId: 0, score: expect.closeTo(0.27, 6) })]);
    expect(decodeYolox(out, HEAD, 0.28)).toEqual([]);
  });

  it('puts gx before gy (x fastest)', () => {
    const [right] = decodeYolox(output({ 1: [0, 0, 0, 0, 1, 1, 0, 0] }), HEAD, 0.5);
    const [below] = decodeYolox(output({ 8: [0, 0, 0, 0, 1, 1, 0, 0] }), HEAD, 0.5);
    expect(right).toMatchObject({ x1: 4, y1: -4 });
    expect(below).toMatchObject({ x1: -4, y1: 4 });
  });

  it('ignores NaN scores', () => {
    expect(decodeYolox(output({ 3: [0, 0, 0, 0, NaN, 1, 1, 1] }), HEAD, 0)).toHaveLength(HEAD.numAnchors - 1);
  });

  it('refuses an output of the wrong size', () => {
    expect(() => decodeYolox(new Float32Array(10), HEAD, 0.25)).toThrow(ModelError);
  });
});

describe(decodeYolov8.name, () => {
  const n = HEAD.numAnchors;
  function output(anchors: Record<number, number[]>): Float32Array {
    const out = new Float32Array((4 + HEAD.numClasses) * n);
    for (const [a, values] of Object.entries(anchors)) values.forEach((v, row) => (out[row * n + Number(a)] = v));
    return out;
  }

  it('reads cx, cy, w, h from rows 0-3 and the best class from rows 4..', () => {
    const out = output({ 5: [10, 20, 4, 6, 0.3, 0.9, 0.1], 7: [30, 10, 10, 10, 0.4, 0.1, 0.2], 9: [1, 1, 1, 1, 0.2, 0.1, 0.05] });
    expect(decodeYolov8(out, HEAD, 0.25)).toEqual([
      { x1: 8, y1: 17, x2: 12, y2: 23, score: expect.closeTo(0.9, 6), classId: 1 },
      { x1: 25, y1: 5, x2: 35, y2: 15, score: expect.closeTo(0.4, 6), classId: 0 },
    ]);
  });

  it('takes the first class on a tie, as argmax does', () => {
    const [d] = decodeYolov8(output({ 0: [5, 5, 2, 2, 0.1, 0.7, 0.7] }), HEAD, 0.25);
    expect(d?.classId).toBe(1);
  });

  it('reads the class count from the head, not a constant 80', () => {
    const head = { ...HEAD, numClasses: 1 };
    const out = new Float32Array(5 * n);
    out[4 * n + 2] = 0.6;
    expect(decodeYolov8(out, head, 0.5)).toEqual([expect.objectContaining({ classId: 0 })]);
  });

  it('refuses an output of the wrong size', () => {
    expect(() => decodeYolov8(new Float32Array(84 * 8400), HEAD, 0.25)).toThrow(/expected 7 rows x 42 anchors/);
  });
});
