import type { Candidate } from './families/family';
import { boxIou, nms } from './nms';

const box = (x1: number, y1: number, x2: number, y2: number, score: number, classId = 0): Candidate => ({ x1, y1, x2, y2, score, classId });
const AWARE = { agnostic: false, maxDetections: 300 };
const AGNOSTIC = { agnostic: true, maxDetections: 300 };

describe(nms.name, () => {
  it('returns nothing for nothing', () => {
    expect(nms([], 0.45, AWARE)).toEqual([]);
  });

  it('keeps the best of identical boxes', () => {
    const a = box(0, 0, 10, 10, 0.5);
    const b = box(0, 0, 10, 10, 0.9);
    expect(nms([a, b], 0.45, AWARE)).toEqual([b]);
  });

  it('keeps overlapping boxes of different classes unless agnostic', () => {
    const person = box(0, 0, 10, 10, 0.9, 0);
    const bike = box(1, 1, 10, 10, 0.8, 1);
    expect(nms([person, bike], 0.45, AWARE)).toEqual([person, bike]);
    expect(nms([person, bike], 0.45, AGNOSTIC)).toEqual([person]);
  });

  it('suppresses only above the threshold', () => {
    const a = box(0, 0, 10, 10, 0.9);
    const half = box(0, 0, 10, 20, 0.8); // IoU exactly 0.5
    expect(boxIou(a, half)).toBe(0.5);
    expect(nms([a, half], 0.5, AWARE)).toHaveLength(2);
    expect(nms([a, half], 0.49, AWARE)).toHaveLength(1);
  });

  it('lets zero-area boxes neither suppress nor be suppressed', () => {
    const point = box(5, 5, 5, 5, 0.95);
    const line = box(0, 5, 10, 5, 0.9);
    const a = box(0, 0, 10, 10, 0.8);
    expect(boxIou(point, point)).toBe(0);
    expect(nms([point, line, a], 0.1, AWARE)).toEqual([point, line, a]);
  });

  it('stops at maxDetections, best first', () => {
    const boxes = Array.from({ length: 10 }, (_, i) => box(i * 20, 0, i * 20 + 10, 10, i / 10));
    const kept = nms(boxes, 0.45, { agnostic: false, maxDetections: 3 });
    expect(kept.map((b) => b.score)).toEqual([0.9, 0.8, 0.7]);
  });

  it('breaks ties by input order, so results are deterministic', () => {
    const first = box(0, 0, 10, 10, 0.7, 0);
    const second = box(0, 0, 10, 10, 0.7, 0);
    const apart = box(50, 50, 60, 60, 0.7, 0);
    expect(nms([first, second, apart], 0.45, AWARE)).toEqual([first, apart]);
    expect(nms([second, first, apart], 0.45, AWARE)[0]).toBe(second);
  });

  it('keeps everything at IoU threshold 1 and only disjoint boxes at 0', () => {
    const boxes = [box(0, 0, 10, 10, 0.9), box(5, 5, 15, 15, 0.8), box(20, 20, 30, 30, 0.7)];
    expect(nms(boxes, 1, AWARE)).toHaveLength(3);
    expect(nms(boxes, 0, AWARE).map((b) => b.score)).toEqual([0.9, 0.7]);
  });
});
