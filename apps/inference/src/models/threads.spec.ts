import { intraOpThreads } from './threads';

describe(intraOpThreads.name, () => {
  it('keeps a configured count', () => {
    expect(intraOpThreads(3, 16)).toBe(3);
  });

  it('gives half the CPUs for 0, at least one', () => {
    expect(intraOpThreads(0, 16)).toBe(8);
    expect(intraOpThreads(0, 2)).toBe(1);
    expect(intraOpThreads(0, 3)).toBe(1);
    expect(intraOpThreads(0, 1)).toBe(1);
  });
});
