import { COCO_LABELS } from './coco';

describe('COCO_LABELS', () => {
  it('has the 80 names in class-id order, spelt as the reference spells them', () => {
    expect(COCO_LABELS).toHaveLength(80);
    expect(new Set(COCO_LABELS).size).toBe(80);
    expect([COCO_LABELS[0], COCO_LABELS[5], COCO_LABELS[60], COCO_LABELS[62], COCO_LABELS[79]]).toEqual([
      'person',
      'bus',
      'dining table',
      'tv',
      'toothbrush',
    ]);
    expect(Object.isFrozen(COCO_LABELS)).toBe(true);
  });
});
