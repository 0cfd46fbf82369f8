import { decodeCursor, encodeCursor } from './views';

describe('cursors', () => {
  it('round-trip (created_at, id)', () => {
    const row = { createdAt: new Date('2026-11-22T10:00:00.123Z'), id: '01a2014a-ba42-70d9-b9c2-b45b56eca1e0' };
    expect(decodeCursor(encodeCursor(row))).toEqual(row);
  });

  it('refuses cursors that are not ours', () => {
    expect(decodeCursor('garbage')).toBeNull();
    expect(decodeCursor(Buffer.from("2026-01-01|' OR 1=1 --").toString('base64url'))).toBeNull();
  });
});
