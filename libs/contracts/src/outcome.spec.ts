import { PersistJobSchema, persistRequests } from './outcome';
import type { RequestRecord } from './requests';

const record = (id: string): RequestRecord => ({
  id,
  workKey: 'w'.repeat(64),
  sha256: 's'.repeat(64),
  width: 4,
  height: 3,
  bytes: 10,
  model: { name: 'yolox-nano', version: '1' },
  params: { confidence: 0.25, iou: 0.45, classes: null, maxDetections: 100, agnostic: false },
  classLabels: null,
  priority: 'normal',
  correlationId: `c-${id}`,
  createdAt: '2026-01-01T00:00:00.000Z',
});
const canceled = { canceled: true as const, at: '2026-01-01T00:00:01.000Z' };

describe('PersistJobSchema', () => {
  it('reads a job carrying several ends, each with its requests', () => {
    const parsed = PersistJobSchema.parse({ ends: [{ end: canceled, records: [record('a')] }, { end: canceled, records: [record('b'), record('c')] }] });
    expect(persistRequests(parsed).map((r) => r.id)).toEqual(['a', 'b', 'c']);
  });

  it('reads the one-end shape of earlier releases as a job of one end, so a job left waiting across an upgrade is not lost', () => {
    const parsed = PersistJobSchema.parse({ end: canceled, records: [record('a')] });
    expect(parsed).toEqual({ ends: [{ end: canceled, records: [record('a')] }] });
  });

  it('refuses a job without requests, and an end without records', () => {
    expect(PersistJobSchema.safeParse({ ends: [] }).success).toBe(false);
    expect(PersistJobSchema.safeParse({ ends: [{ end: canceled, records: [] }] }).success).toBe(false);
    expect(PersistJobSchema.safeParse({ records: [record('a')] }).success).toBe(false);
  });
});

describe(persistRequests.name, () => {
  it('lists the requests of whatever a queue holds, either shape, and nothing for junk', () => {
    expect(persistRequests({ end: canceled, records: [record('x')] }).map((r) => r.id)).toEqual(['x']);
    expect(persistRequests({ ends: [{ end: canceled, records: [record('y')] }] }).map((r) => r.id)).toEqual(['y']);
    expect(persistRequests(undefined)).toEqual([]);
    expect(persistRequests({ ends: 'nope' } as never)).toEqual([]);
  });
});
