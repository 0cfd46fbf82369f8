import { expectedDetections, iou } from './expected';
import { uniqueName } from './services';

describe('iou', () => {
  it('is 1 for the same box, 0 for disjoint boxes, and symmetric', () => {
    expect(iou([0, 0, 10, 10], [0, 0, 10, 10])).toBe(1);
    expect(iou([0, 0, 10, 10], [20, 20, 30, 30])).toBe(0);
    expect(iou([0, 0, 10, 10], [5, 0, 15, 10])).toBeCloseTo(50 / 150);
    expect(iou([5, 0, 15, 10], [0, 0, 10, 10])).toBeCloseTo(iou([0, 0, 10, 10], [5, 0, 15, 10]));
  });
});

describe('expectedDetections', () => {
  it('reads the reference file for both models', () => {
    const models = new Set(expectedDetections().map((e) => e.model));
    expect([...models].sort()).toEqual(['yolov8n-int8', 'yolox-nano']);
  });
});

describe('uniqueName', () => {
  it('makes distinct names safe for Redis prefixes and Postgres schemas', () => {
    const a = uniqueName('My Test');
    expect(a).toMatch(/^t_my_test_[a-z0-9_]+$/);
    expect(uniqueName('My Test')).not.toBe(a);
  });
});
