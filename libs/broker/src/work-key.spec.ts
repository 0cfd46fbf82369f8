import { newRequestId, workKey } from './work-key';

const params = { confidence: 0.25, iou: 0.45, classes: null, maxDetections: 300, agnostic: false };
const sha = 'a'.repeat(64);
const model = { name: 'yolox-nano', version: 'abc123def456' };

describe('workKey', () => {
  it('is the same for the same work whatever the order of classes', () => {
    expect(workKey(sha, model, { ...params, classes: [5, 0] }, null)).toBe(workKey(sha, model, { ...params, classes: [0, 5, 5] }, null));
  });

  it('changes with the model version, a threshold, or the image', () => {
    const base = workKey(sha, model, params, null);
    expect(workKey(sha, { ...model, version: 'other' }, params, null)).not.toBe(base);
    expect(workKey(sha, model, { ...params, confidence: 0.3 }, null)).not.toBe(base);
    expect(workKey('b'.repeat(64), model, params, null)).not.toBe(base);
    expect(workKey(sha, model, { ...params, classes: [] }, null)).not.toBe(base);
  });

  it('changes with the version\'s content and with a pin, so a replaced file or a fallback never answers from the cache', () => {
    const base = workKey(sha, { ...model, digest: 'd1' }, params, null);
    expect(workKey(sha, { ...model, digest: 'd2' }, params, null)).not.toBe(base);
    expect(workKey(sha, { ...model, digest: 'd1', pinned: true }, params, null)).not.toBe(base);
    expect(workKey(sha, { ...model, digest: 'd1', pinned: false }, params, null)).toBe(base);
  });

  it('differs per tenant when results are shared per tenant, and is shared otherwise', () => {
    expect(workKey(sha, model, params, 'key:alice')).not.toBe(workKey(sha, model, params, 'key:bob'));
    expect(workKey(sha, model, params, 'key:alice')).toBe(workKey(sha, model, params, 'key:alice'));
    expect(workKey(sha, model, params, 'key:alice')).not.toBe(workKey(sha, model, params, null));
  });
});

describe('newRequestId', () => {
  it('makes RFC 9562 version 7 UUIDs that sort by time', () => {
    const a = newRequestId(1_700_000_000_000);
    const b = newRequestId(1_700_000_000_001);
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(a < b).toBe(true);
    expect(newRequestId()).not.toBe(newRequestId());
  });
});
